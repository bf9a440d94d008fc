"""Models of the project: sqlalembic discovers them without importing them."""

from .base import Base
from .post import Post
from .product import Product
from .user import User

__all__ = ["Base", "Post", "Product", "User"]
