//! `hsmspec serve-pkcs11 --module PATH`: a PKCS#11 module behind the process protocol
//! (`hsm-pkcs11`, docs/real-hsms.md). With `--worker` it is one of the bridge's worker
//! processes (started by the bridge itself, one per client).

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// The options of `hsmspec serve-pkcs11`.
#[derive(Args, Debug)]
pub struct ServePkcs11Args {
    /// The PKCS#11 module to drive (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long)]
    pub module: PathBuf,
    /// Run as a worker of the bridge (internal: the bridge starts its workers so).
    #[arg(long, hide = true)]
    pub worker: bool,
}

/// Runs `hsmspec serve-pkcs11`.
pub fn serve_pkcs11(args: &ServePkcs11Args) -> ExitCode {
    if args.worker {
        return match hsm_pkcs11::worker::run(&args.module) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hsmspec serve-pkcs11 worker: {e}");
                ExitCode::from(2)
            }
        };
    }
    if !args.module.exists() {
        eprintln!(
            "hsmspec serve-pkcs11: the module {} does not exist (SoftHSM2: apt-get install softhsm2)",
            args.module.display()
        );
        return ExitCode::from(2);
    }
    let program = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("hsmspec serve-pkcs11: cannot find its own executable: {e}");
            return ExitCode::from(2);
        }
    };
    let worker = hsm_pkcs11::bridge::WorkerCommand {
        program,
        args: vec![
            "serve-pkcs11".into(),
            "--worker".into(),
            "--module".into(),
            args.module.clone().into_os_string(),
        ],
    };
    let mut bridge = hsm_pkcs11::bridge::Bridge::new(&args.module, worker);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match hsm_pkcs11::bridge::serve(
        stdin.lock(),
        std::io::BufWriter::new(stdout.lock()),
        &mut bridge,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsmspec serve-pkcs11: {e}");
            ExitCode::from(2)
        }
    }
}
