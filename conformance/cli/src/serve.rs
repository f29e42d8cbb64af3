//! `hsmspec serve-impl`: `hsm-impl` behind the process protocol (docs/protocol.md) on standard
//! input and output.

use hsm_conformance::adapter::ImplFactory;
use std::process::ExitCode;

/// `hsmspec serve-impl`: `hsm-impl` behind the process protocol on stdin and stdout.
pub fn serve_impl() -> ExitCode {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match hsm_conformance::protocol::serve(
        stdin.lock(),
        std::io::BufWriter::new(stdout),
        &mut ImplFactory::correct().server(),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsmspec serve-impl: {e}");
            ExitCode::from(2)
        }
    }
}
