from sqlalchemy import CheckConstraint, Column, Index, Integer, Numeric, String, UniqueConstraint

from .base import Base


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("sku", name="uq_products_sku"),
        CheckConstraint("price >= 0", name="ck_products_price_positive"),
        Index("ix_products_name_category", "name", "category"),
    )

    id = Column(Integer, primary_key=True)
    sku = Column(String(32), nullable=False)
    name = Column(String(100), nullable=False)
    category = Column(String(50))
    price = Column(Numeric(10, 2), nullable=False)
