//! The real `baton` command, built inside this package so its tests can run
//! it as a child process: cargo gives a test only its own package's
//! binaries (`CARGO_BIN_EXE_baton-under-test`), and `cargo build` from
//! inside a test would wait forever on the build lock. Not named `baton`:
//! that would collide with the server's binary in `target/debug/`.

fn main() -> std::process::ExitCode {
    baton::cli::main()
}
