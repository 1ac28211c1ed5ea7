//! `attest`: verify TEE evidence from the command line, or serve the verifier over HTTP.
//!
//! Exit codes for `verify` are documented in `attestation::cli`: 0 affirming, 1 denied,
//! 2 bad input.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};

/// The attestation verifier.
#[derive(Debug, Parser)]
#[command(name = "attest", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify one piece of evidence and print the verdict.
    Verify(attestation::cli::VerifyArgs),
    /// Serve the verifier over HTTP (loopback by default).
    Serve(attestation::cli::ServeArgs),
    /// Development: print simulated evidence JSON bound to a nonce and runtime data.
    SimEvidence(attestation::cli::SimEvidenceArgs),
    /// Development: write a guest P-256 key and print its public JWK (the runtime data).
    GuestKey(attestation::cli::GuestKeyArgs),
    /// Development: decrypt a resource JWE with a key from `guest-key`.
    OpenJwe(attestation::cli::OpenJweArgs),
    /// Development: write a throwaway CA and a server certificate for `serve --tls-cert`.
    DevTls(attestation::cli::DevTlsArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Verify(args) => attestation::cli::run_verify(args),
        Command::Serve(args) => attestation::cli::run_serve(args),
        Command::SimEvidence(args) => attestation::cli::run_sim_evidence(args),
        Command::GuestKey(args) => attestation::cli::run_guest_key(args),
        Command::OpenJwe(args) => attestation::cli::run_open_jwe(args),
        Command::DevTls(args) => attestation::cli::run_dev_tls(args),
    };
    std::process::exit(code);
}
