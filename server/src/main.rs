//! The `baton` binary; see [`baton::cli`].

fn main() -> std::process::ExitCode {
    baton::cli::main()
}
