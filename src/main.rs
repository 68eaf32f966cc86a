fn main() -> std::process::ExitCode {
    // One crypto provider for HTTPS and QUIC: ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    outpost::cli::run()
}
