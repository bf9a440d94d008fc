fn main() {
    std::process::exit(sqlalembic::cli::run());
}
