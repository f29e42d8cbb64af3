//! `hsmspec`: the command line of hsmspec. It fronts every crate: the model checker
//! (`check`, `simulate`, `explore`) and the conformance runner (`conform`, `replay`).

use clap::{Args, Parser, Subcommand};
use hsm_conformance::verdict::exit;
use hsmspec::{
    check, conform, docs, explore, replay, scale, scenario, serve, serve_pkcs11, simulate, table,
};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hsmspec",
    version,
    about = "The executable specification of HSM users and roles, and its conformance harness"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check every property of the model exhaustively over a bounded configuration.
    Check(check::CheckArgs),
    /// Random walks of a bounded depth over a configuration too large to exhaust (TLC's
    /// simulation mode), every invariant checked at every step (exit 0 PASS, 1 FAIL or
    /// INCOMPLETE, 2 usage error).
    Simulate(simulate::SimulateArgs),
    /// Measure how the exhaustive check grows as each bound grows on its own (each run in a
    /// child process); write scaling.md and scaling.svg.
    Scale(scale::ScaleArgs),
    /// Serve stateright's Explorer for a configuration on 127.0.0.1 (`accounts` unless --config
    /// names another): states as the cluster, actions with their outcomes.
    Explore(ExploreArgs),
    /// Run the conformance campaign: hsm-impl against the model (exit 0 PASS, 1 FAIL or
    /// INCOMPLETE, 2 usage error or unreadable input).
    Conform(conform::ConformArgs),
    /// Replay trace files against the model and hsm-impl, each to its first divergence (exit 0
    /// all conform, 1 a divergence or a trace that disagrees with the spec, 2 unreadable input).
    Replay(replay::ReplayArgs),
    /// Write v1 trace files as scenarios (the format people write by hand; docs/formats.md).
    Convert(scenario::ConvertArgs),
    /// Derive the permission table by exploring the model (not from the table data).
    Table(table::TableArgs),
    /// Regenerate the generated pages of docs/ (--check: exit 1 when one is stale).
    Docs(docs::DocsArgs),
    /// Serve hsm-impl behind the process protocol (docs/protocol.md) on stdin/stdout.
    ServeImpl,
    /// Serve a PKCS#11 module (one fresh token per trace, one worker process per client)
    /// behind the process protocol; hold it to a profile with `conform --profile`
    /// (docs/real-hsms.md).
    ServePkcs11(serve_pkcs11::ServePkcs11Args),
}

#[derive(Args)]
struct ExploreArgs {
    #[command(flatten)]
    config: check::ConfigArgs,
    /// The port to listen on.
    #[arg(long, default_value_t = 3000)]
    port: u16,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => exit("check", check::check(&args)),
        Command::Simulate(args) => exit("simulate", simulate::simulate(&args)),
        Command::Scale(args) => scale::scale(&args),
        Command::Explore(args) => explore::explore(&args.config, args.port),
        Command::Conform(args) => exit("conform", conform::conform(&args)),
        Command::Replay(args) => exit("replay", replay::replay(&args)),
        Command::Convert(args) => match scenario::convert(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hsmspec convert: {e}");
                ExitCode::from(2)
            }
        },
        Command::Table(args) => table::table(&args),
        Command::Docs(args) => docs::docs(&args),
        Command::ServeImpl => serve::serve_impl(),
        Command::ServePkcs11(args) => serve_pkcs11::serve_pkcs11(&args),
    }
}
