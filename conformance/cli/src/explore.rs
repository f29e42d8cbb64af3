//! `hsmspec explore`: stateright's Explorer for a configuration, on 127.0.0.1.

use crate::check::ConfigArgs;
use hsm_conformance::Error;
use hsm_model::HsmModel;
use std::process::ExitCode;

/// Runs `hsmspec explore`: stateright's Explorer, until interrupted.
pub fn explore(config: &ConfigArgs, port: u16) -> ExitCode {
    let model = match config
        .config()
        .and_then(|c| HsmModel::new(c).map_err(Error::from))
    {
        Ok(m) => m,
        Err(e) => {
            eprintln!("hsmspec explore: {e}");
            return ExitCode::from(hsm_conformance::verdict::USAGE_EXIT);
        }
    };
    let addr = format!("127.0.0.1:{port}");
    eprintln!("Explorer on http://{addr}/ (Ctrl-C to stop)");
    use stateright::Model;
    model.checker().serve(addr);
    ExitCode::SUCCESS
}
