// mimalloc: discovery and the differ allocate many small, short-lived values; the
// system allocator spent a quarter of a cold discovery in malloc and free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(sqlalembic::cli::run());
}
