//! The `wshost` executable.

/// mimalloc over glibc's malloc: the request path allocates and frees many small buffers
/// across threads, where glibc's arenas contend and consolidate.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    wshost::run()
}
