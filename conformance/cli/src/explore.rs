//! `hsmspec explore`: stateright's Explorer for a configuration, on 127.0.0.1, showing the model
//! as a person pictures it.
//!
//! The Explorer prints a state with `{:#?}` and an action with the model's `format_action`, so
//! the model it serves is [`ExplorerModel`], a wrapper of [`HsmModel`] whose state
//! ([`ExplorerState`]) and action ([`ExplorerAction`]) have the cluster view and the action's
//! sentence as their `Debug`: names rather than indices, no ghost history, the configuration
//! at the top of every state. Paths are concrete (no symmetry reduction: an actor keeps its
//! name along a path), every enabled action is offered with its outcome (errors too), and an
//! example whose families or bounds are off says so in its name.

use crate::check::ConfigArgs;
use hsm_conformance::Error;
use hsm_model::checker::properties;
use hsm_model::story::{cluster_view, outcome_text};
use hsm_model::trace::describe;
use hsm_model::{Action, Config, HsmModel, State};
use stateright::{Model, Property};
use std::fmt;
use std::process::ExitCode;

/// The configuration `explore` serves when `--config` names none (or names the suite): one
/// that finishes in a moment, from a new cluster.
pub const DEFAULT_CONFIG: &str = "accounts";

/// A state as the Explorer shows it: the cluster view, under the configuration. Equal and
/// hashed as the model's state alone.
#[derive(Clone)]
pub struct ExplorerState {
    /// The model's state (concrete: never a symmetry representative).
    pub state: State,
    cfg: &'static Config,
}

impl PartialEq for ExplorerState {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
    }
}
impl Eq for ExplorerState {}
impl std::hash::Hash for ExplorerState {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.state.hash(h)
    }
}

impl fmt::Debug for ExplorerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", config_header(self.cfg))?;
        writeln!(f)?;
        f.write_str(&cluster_view(self.cfg, &self.state, ""))
    }
}

/// An action as the Explorer shows it: `client 0 @ HSM 0: Login as "admin", …`.
#[derive(Clone, Copy)]
pub struct ExplorerAction {
    /// The model's action.
    pub action: Action,
    cfg: &'static Config,
}

impl PartialEq for ExplorerAction {
    fn eq(&self, other: &Self) -> bool {
        self.action == other.action
    }
}
impl Eq for ExplorerAction {}

impl fmt::Debug for ExplorerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(self.cfg, &self.action))
    }
}

/// The configuration in a few lines, for the top of every state.
pub fn config_header(cfg: &Config) -> String {
    let mut out = format!("configuration `{}`", cfg.name);
    for line in crate::output::config_text(cfg) {
        out.push_str(&format!("\n  {line}"));
    }
    out.push_str(&format!(
        "\n  families {}; {}",
        cfg.families,
        match cfg.setup.len() {
            0 => "from a new cluster".to_string(),
            n => format!("after {n} setup steps"),
        }
    ));
    out
}

/// [`HsmModel`] as the Explorer serves it.
pub struct ExplorerModel {
    inner: HsmModel,
    cfg: &'static Config,
    properties: Vec<Property<HsmModel>>,
    names: Vec<&'static str>,
}

impl ExplorerModel {
    /// The Explorer's model of `cfg`; an error if the configuration is not valid.
    pub fn new(cfg: Config) -> Result<ExplorerModel, Error> {
        let inner = HsmModel::new(cfg.clone())?;
        // The Explorer needs states that name their configuration, for as long as it serves.
        let cfg: &'static Config = Box::leak(Box::new(cfg));
        let properties = properties::all();
        let names = properties
            .iter()
            .map(|p| {
                let on = properties::EXAMPLES
                    .iter()
                    .find(|(name, _)| *name == p.name)
                    .is_none_or(|(name, families)| {
                        families.iter().all(|f| cfg.has(*f))
                            && properties::example_within_bounds(name, cfg)
                    });
                if on {
                    p.name
                } else {
                    let off = format!(
                        "OFF in `{}` (its operation families or bounds are switched off): {}",
                        cfg.name, p.name
                    );
                    &*Box::leak(off.into_boxed_str())
                }
            })
            .collect();
        Ok(ExplorerModel {
            inner,
            cfg,
            properties,
            names,
        })
    }

    fn wrap(&self, state: State) -> ExplorerState {
        ExplorerState {
            state,
            cfg: self.cfg,
        }
    }
}

/// The `I`-th property of the model, held on the wrapped state (stateright takes a property's
/// condition as a plain function, so there is one instance per property).
fn condition<const I: usize>(m: &ExplorerModel, s: &ExplorerState) -> bool {
    m.properties
        .get(I)
        .is_none_or(|p| (p.condition)(&m.inner, &s.state))
}

const CONDITIONS: [fn(&ExplorerModel, &ExplorerState) -> bool; 15] = [
    condition::<0>,
    condition::<1>,
    condition::<2>,
    condition::<3>,
    condition::<4>,
    condition::<5>,
    condition::<6>,
    condition::<7>,
    condition::<8>,
    condition::<9>,
    condition::<10>,
    condition::<11>,
    condition::<12>,
    condition::<13>,
    condition::<14>,
];

impl Model for ExplorerModel {
    type State = ExplorerState;
    type Action = ExplorerAction;

    fn init_states(&self) -> Vec<ExplorerState> {
        self.inner
            .setup_state()
            .map(|s| vec![self.wrap(s)])
            .unwrap_or_default()
    }

    /// Every enabled action, errors included, so that a person sees what each would answer.
    fn actions(&self, state: &ExplorerState, actions: &mut Vec<ExplorerAction>) {
        let mut all = Vec::new();
        self.inner.enabled_actions(&state.state, &mut all);
        actions.extend(all.into_iter().map(|action| ExplorerAction {
            action,
            cfg: self.cfg,
        }));
    }

    fn next_state(&self, last: &ExplorerState, action: ExplorerAction) -> Option<ExplorerState> {
        let (_, next) = self.inner.transition(&last.state, &action.action)?;
        Some(self.wrap(next))
    }

    fn format_action(&self, action: &ExplorerAction) -> String {
        describe(self.cfg, &action.action)
    }

    /// The outcome, what the step changed, then the cluster after it: the Explorer's page shows
    /// this as the current state (the whole state, configuration included, under "Complete
    /// State?").
    fn format_step(&self, last: &ExplorerState, action: ExplorerAction) -> Option<String> {
        let (outcome, next) = self.inner.transition(&last.state, &action.action)?;
        let mut out = format!("→ {}", outcome_text(self.cfg, &outcome));
        let changed = hsm_model::story::changes(self.cfg, &last.state, &next);
        if changed.is_empty() {
            out.push_str("\n(nothing changes)");
        }
        for c in changed {
            out.push_str(&format!("\n{c}"));
        }
        out.push_str(&format!(
            "\n\nthe cluster after it (configuration `{}`):\n",
            self.cfg.name
        ));
        out.push_str(&cluster_view(self.cfg, &next, ""));
        Some(out)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties
            .iter()
            .zip(&self.names)
            .zip(CONDITIONS)
            .map(|((p, name), condition)| Property {
                expectation: p.expectation.clone(),
                name,
                condition,
            })
            .collect()
    }
}

/// The configuration `explore` serves: `--config` (the suite is four configurations, so it
/// means [`DEFAULT_CONFIG`] here), adjusted by the other options.
pub fn explore_config(config: &ConfigArgs) -> Result<Config, Error> {
    let mut args = config.clone();
    if args.config == "suite" {
        args.config = DEFAULT_CONFIG.to_string();
    }
    args.config()
}

/// Runs `hsmspec explore`: stateright's Explorer, until interrupted.
pub fn explore(config: &ConfigArgs, port: u16) -> ExitCode {
    let model = match explore_config(config).and_then(ExplorerModel::new) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("hsmspec explore: {e}");
            return ExitCode::from(hsm_conformance::verdict::USAGE_EXIT);
        }
    };
    let addr = format!("127.0.0.1:{port}");
    eprintln!("{}", config_header(model.cfg));
    eprintln!("Explorer on http://{addr}/ (Ctrl-C to stop; --config picks another configuration)");
    model.checker().serve(addr);
    ExitCode::SUCCESS
}
