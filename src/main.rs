/// The allocator: mimalloc. A server's hot paths (HTTP requests, sled transactions, QUIC
/// packets) allocate and free small buffers across threads, where it spends less than the
/// system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // One crypto provider for HTTPS and QUIC: ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    outpost::cli::run()
}
