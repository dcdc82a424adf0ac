fn main() -> std::process::ExitCode {
    qualtop::cli::main()
}
