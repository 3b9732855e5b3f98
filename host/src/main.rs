//! The `wshost` executable.

fn main() -> std::process::ExitCode {
    wshost::run()
}
