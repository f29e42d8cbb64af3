//! The traceability mapping, written by hand: every rule (said in words, with the page of
//! `docs/` that states it: the requirements text is not in the repository, D45) and D-number → the model's
//! functions, the properties, the tests and the zoo faults that hold it.
//! `conformance/cli/tests/docs.rs` checks that everything it names exists.

use hsm_model::checker::properties as p;

// ---- traceability -------------------------------------------------------------------------

/// One line of the traceability table: a rule of SPEC or a decision, and what covers it.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    /// The rule in a few words, with a link to the page of `docs/` that states it (a D-number
    /// first for a decision); never a section number of the requirements (D45).
    pub rule: &'static str,
    /// Model items implementing it: (file under `model/src/`, function or type name).
    pub model: &'static [(&'static str, &'static str)],
    /// Properties checking it (sentences of `hsm_model::checker::properties`).
    pub properties: &'static [&'static str],
    /// Tests covering it: (file, test function name).
    pub tests: &'static [(&'static str, &'static str)],
    /// Faults of `hsm-impl`'s fault zoo whose detection shows it (`Fault` variant names).
    pub faults: &'static [&'static str],
}

const EXH: &str = "model/tests/exhaustive.rs";
const PLANTED: &str = "model/src/tests/planted.rs";
const ENGINE: &str = "model/src/tests/engine.rs";
const SCALE: &str = "conformance/cli/tests/scale.rs";
const ZOO: &str = "conformance/cli/tests/zoo.rs";
const CEXH: &str = "conformance/tests/exhaustive.rs";
const CDOCS: &str = "conformance/cli/tests/docs.rs";
const SCHEMA: &str = "conformance/cli/tests/schema.rs";
const STORIES: &str = "conformance/cli/tests/stories.rs";
const EXPLORER: &str = "conformance/cli/tests/explorer.rs";
const TRACES: &str = "conformance/tests/traces.rs";
const CZOO: &str = "conformance/tests/fault_zoo.rs";
const NAMES: &str = "model/tests/names.rs";
const FLAKY: &str = "conformance/tests/flaky.rs";
const VERDICTS: &str = "conformance/cli/tests/verdicts.rs";
const HOUSE: &str = "conformance/tests/house.rs";
const CONCURRENT: &str = "conformance/tests/concurrent.rs";
const CLI_CONCURRENT: &str = "conformance/cli/tests/concurrent.rs";
const SCENARIOS: &str = "conformance/tests/scenarios.rs";
const CLI_SCENARIOS: &str = "conformance/cli/tests/scenarios.rs";
const MODEL_SCENARIOS: &str = "model/src/scenario/tests.rs";
const PROTOCOL: &str = "conformance/cli/tests/protocol.rs";
const PROFILE: &str = "conformance/tests/profile.rs";
const SIMULATE: &str = "model/src/tests/simulate.rs";
const PKCS11: &str = "conformance/cli/tests/pkcs11.rs";
const PROFILE_LAYER: &str = "conformance/src/profile.rs";

/// The traceability table, by hand: every test checks that each name cited exists.
pub const LINKS: &[Link] = &[
    Link {
        rule: "[roles](roles.md): PRECO `admin`/`password` only on HSM 0 of a new cluster",
        model: &[("state.rs", "new_cluster")],
        properties: &[p::PRECO_ONLY_ON_HSM0_UNACTIVATED],
        tests: &[(EXH, "accounts"), (PLANTED, "a_preco_surviving_activation_is_caught")],
        faults: &["PrecoSurvivesActivation"],
    },
    Link {
        rule: "[roles](roles.md): AU on every HSM from the start; nobody creates, deletes it or changes its password",
        model: &[
            ("state.rs", "new_cluster"),
            ("step.rs", "create_user"),
            ("step.rs", "delete_user"),
            ("step.rs", "change_password"),
        ],
        properties: &[p::BLANK_HSM_HOLDS_ONLY_AU],
        tests: &[(EXH, "accounts"), (CEXH, "exhaustive_users")],
        faults: &["CloneCopiesAu"],
    },
    Link {
        rule: "[roles](roles.md): a session is bound to one HSM; its role is its user's current role, read at every step",
        model: &[("state.rs", "session_role"), ("step.rs", "caller")],
        properties: &[p::OK_ALLOWED_BY_TABLE, p::NO_SESSION_OF_GONE_USER],
        tests: &[(PLANTED, "deleting_a_logged_in_user_is_caught"), (EXH, "accounts")],
        faults: &["DeletedUserStaysLoggedIn", "ZeroizeKeepsSessions"],
    },
    Link {
        rule: "D1 activation: the PRECO changing its password becomes a CO; active for good",
        model: &[("step.rs", "change_own_password")],
        properties: &[p::ACTIVATION, p::PRECO_ONLY_ON_HSM0_UNACTIVATED],
        tests: &[(EXH, "accounts"), (PLANTED, "a_preco_surviving_activation_is_caught")],
        faults: &["PrecoSurvivesActivation"],
    },
    Link {
        rule: "D2 clone: the AU copies users and keys onto a blank HSM, only when active",
        model: &[("step.rs", "clone_hsm")],
        properties: &[p::SHARED_KEY_USED_ON_CLONE, p::BLANK_HSM_HOLDS_ONLY_AU],
        tests: &[(EXH, "lifecycle"), (EXH, "masking"), (CEXH, "exhaustive_fresh")],
        faults: &["CloneWhileUnactivated", "CloneCopiesAu"],
    },
    Link {
        rule: "D3 zeroize: anyone; keys and users but the AU gone, counters cleared, sessions out",
        model: &[("step.rs", "zeroize")],
        properties: &[p::ALL_ZEROIZED, p::BLANK_HSM_HOLDS_ONLY_AU, p::NO_SESSION_OF_GONE_USER],
        tests: &[(PLANTED, "zeroize_keeping_keys_is_caught"), (CEXH, "exhaustive_zeroize")],
        faults: &["ZeroizeKeepsKeys", "ZeroizeKeepsSessions"],
    },
    Link {
        rule: "[operations](operations.md): check order: NotLoggedIn → Forbidden → the operation's own checks in order",
        model: &[("step.rs", "caller"), ("step.rs", "callers")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[
            (EXH, "the_concerns_together_reach_every_code_and_every_cell"),
            (CEXH, "exhaustive_users"),
        ],
        faults: &["ChecksOutOfOrder", "UnauthenticatedSyncStatus"],
    },
    Link {
        rule: "[operations](operations.md): nothing changes on an error, but a failed Login's counter",
        model: &[("step.rs", "step")],
        properties: &[],
        tests: &[
            (CEXH, "exhaustive_users"),
            (CEXH, "exhaustive_keys"),
            (CZOO, "errors_change_nothing_on_their_own"),
        ],
        faults: &["LockoutOneLate", "ErrorLeavesPartialEffect"],
    },
    Link {
        rule: "[operations](operations.md), credentials: Login: checks in order, counter per user per HSM, lockout at the threshold, success resets",
        model: &[("step.rs", "login")],
        properties: &[p::ALL_COS_LOCKED],
        tests: &[(EXH, "accounts"), (CEXH, "exhaustive_users")],
        faults: &["LockoutOneLate", "SuccessDoesNotResetCounter"],
    },
    Link {
        rule: "[operations](operations.md): ChangePassword (CO): unlocks; not the AU; not a logged-in target",
        model: &[("step.rs", "change_password")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[(CEXH, "exhaustive_users")],
        faults: &["ChangePasswordOfLoggedInUser"],
    },
    Link {
        rule: "[operations](operations.md): CreateUser (CO): name, role, password, exists, user limit (AU counts)",
        model: &[("step.rs", "create_user")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[(PLANTED, "a_cu_creating_users_breaks_the_table"), (CEXH, "exhaustive_users")],
        faults: &["CuMayCreateUsers", "ChecksOutOfOrder", "UserLimitIgnoresAu"],
    },
    Link {
        rule: "[operations](operations.md): DeleteUser (CO): not protected, not logged in (the caller included), owns no keys",
        model: &[("step.rs", "delete_user")],
        properties: &[
            p::OWNERS_AND_SHARES_ARE_CUS,
            p::NO_SESSION_OF_GONE_USER,
            p::ACTIVE_HSM_HAS_CO,
        ],
        tests: &[
            (PLANTED, "deleting_a_user_that_owns_keys_is_caught"),
            (PLANTED, "deleting_a_logged_in_user_is_caught"),
            (PLANTED, "a_co_deleting_itself_is_caught"),
        ],
        faults: &["DeleteUserWithKeys", "DeletedUserStaysLoggedIn"],
    },
    Link {
        rule: "D4 ListUsers: read-only, everyone",
        model: &[("step.rs", "list_users")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[(CDOCS, "the_derived_table_is_spec_section_8")],
        faults: &[],
    },
    Link {
        rule: "D5 GetSyncStatus: the PRECO may, read-only",
        model: &[("step.rs", "callers"), ("step.rs", "get_sync_status")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[(CDOCS, "the_derived_table_is_spec_section_8")],
        faults: &["UnauthenticatedSyncStatus"],
    },
    Link {
        rule: "D6 ExtractMasked: CO and AU any key, a CU only keys it owns",
        model: &[("step.rs", "extract_masked")],
        properties: &[p::KEY_USE_NEEDS_ACCESS],
        tests: &[(EXH, "masking"), (CEXH, "exhaustive_masking")],
        faults: &["ExtractIgnoresOwnership"],
    },
    Link {
        rule: "D7 key access: NoSuchKey unless owned or shared; NotOwner for owner-only; a CO never uses keys",
        model: &[("step.rs", "usable"), ("step.rs", "owned")],
        properties: &[p::KEY_USE_NEEDS_ACCESS, p::OK_ALLOWED_BY_TABLE],
        tests: &[(PLANTED, "encrypting_without_access_is_caught"), (CEXH, "exhaustive_keys")],
        faults: &["SharedUserMayDeleteKey", "CoMayUseKeys"],
    },
    Link {
        rule: "D8 one signing key object holds both halves",
        model: &[("step.rs", "sign"), ("step.rs", "verify")],
        properties: &[],
        tests: &[(EXH, "keys"), (CEXH, "exhaustive_keys")],
        faults: &[],
    },
    Link {
        rule: "[operations](operations.md): key ids: one cluster-wide counter from 1, never reused (zeroize does not reset it)",
        model: &[("step.rs", "new_key_id")],
        properties: &[p::OWNER_NEVER_CHANGES],
        tests: &[(CEXH, "exhaustive_zeroize")],
        faults: &["KeyIdReusedAfterZeroize"],
    },
    Link {
        rule: "[operations](operations.md): ShareKey / UnshareKey: owner only, CUs only, not the owner, share limit",
        model: &[("step.rs", "share_key"), ("step.rs", "unshare_key")],
        properties: &[p::OWNERS_AND_SHARES_ARE_CUS],
        tests: &[(PLANTED, "a_share_limit_not_enforced_is_caught"), (CEXH, "exhaustive_keys")],
        faults: &["ShareLimitOneHigh"],
    },
    Link {
        rule: "[operations](operations.md): WrapKey / UnwrapKey: owner and extractable to wrap; AES wrapping key; new key, no shares",
        model: &[("step.rs", "wrap_key"), ("step.rs", "unwrap_key")],
        properties: &[p::KEY_USE_NEEDS_ACCESS],
        tests: &[(EXH, "keys"), (CEXH, "exhaustive_keys")],
        faults: &["WrapIgnoresExtractable", "UnwrapKeepsShares"],
    },
    Link {
        rule: "[operations](operations.md): crypto outcomes depend on material, not ids (Encrypt, Decrypt, Sign, Verify, Hmac)",
        model: &[("step.rs", "encrypt"), ("step.rs", "decrypt"), ("step.rs", "hmac")],
        properties: &[p::KEY_USE_NEEDS_ACCESS],
        tests: &[(CEXH, "exhaustive_keys"), (CEXH, "exhaustive_zeroize")],
        faults: &["CoMayUseKeys"],
    },
    Link {
        rule: "[lifecycle](lifecycle.md), masked objects: only this cluster's, untampered; owner and shares unchanged",
        model: &[("step.rs", "insert_masked")],
        properties: &[p::OWNER_NEVER_CHANGES, p::OWNERS_AND_SHARES_ARE_CUS],
        tests: &[(PLANTED, "insert_changing_the_owner_is_caught"), (CEXH, "exhaustive_masking")],
        faults: &["ForeignMaskedAccepted", "InsertChangesOwner"],
    },
    Link {
        rule: "D9 no tombstones: a replayed masked object brings a deleted key back (hazard)",
        model: &[("step.rs", "insert_masked"), ("step.rs", "delete_key")],
        properties: &[p::DELETED_KEY_REVIVED],
        tests: &[(EXH, "masking"), (TRACES, "committed_traces_replay_without_divergence")],
        faults: &[],
    },
    Link {
        rule: "D10 unwrap copies material to the caller (hazard: wrap/unwrap extraction)",
        model: &[("step.rs", "unwrap_key")],
        properties: &[p::MATERIAL_COPIED_BY_UNWRAP],
        tests: &[(EXH, "keys"), (TRACES, "checker_paths_replay_without_divergence")],
        faults: &["UnwrapKeepsShares"],
    },
    Link {
        rule: "D11 [operations](operations.md), sync status: one digest per key; reveals the count",
        model: &[("step.rs", "get_sync_status")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_masking"), (CEXH, "exhaustive_fresh")],
        faults: &[],
    },
    Link {
        rule: "D12 a replayed masked object passes to a new user of a deleted owner's name (hazard)",
        model: &[("step.rs", "insert_masked")],
        properties: &[p::KEY_PASSES_TO_NEW_NAMESAKE],
        tests: &[(EXH, "masking")],
        faults: &[],
    },
    Link {
        rule: "[properties](properties.md): a non-blank HSM of an active cluster always holds a CO",
        model: &[("step.rs", "delete_user")],
        properties: &[p::ACTIVE_HSM_HAS_CO],
        tests: &[(PLANTED, "a_co_deleting_itself_is_caught")],
        faults: &[],
    },
    Link {
        rule: "[permissions](permissions.md): the permission table (and the PRECO's column)",
        model: &[("table.rs", "cell"), ("step.rs", "callers")],
        properties: &[p::OK_ALLOWED_BY_TABLE],
        tests: &[
            (CDOCS, "the_derived_table_is_spec_section_8"),
            (EXH, "the_concerns_together_reach_every_code_and_every_cell"),
            (PLANTED, "a_cu_creating_users_breaks_the_table"),
        ],
        faults: &["CuMayCreateUsers", "UnauthenticatedSyncStatus", "CoMayUseKeys"],
    },
    Link {
        rule: "D13 Login checks no syntax; an unknown name counts against nobody",
        model: &[("step.rs", "login")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_users")],
        faults: &["LoginRevealsUnknownName"],
    },
    Link {
        rule: "D14 the AU can be locked out; only zeroize clears its counter",
        model: &[("step.rs", "login"), ("step.rs", "zeroize")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_fresh")],
        faults: &[],
    },
    Link {
        rule: "D15 objects no HSM produced are rejected like tampered ones",
        model: &[
            ("step.rs", "insert_masked"),
            ("step.rs", "unwrap_key"),
            ("step.rs", "decrypt"),
        ],
        properties: &[],
        tests: &[(CEXH, "exhaustive_keys"), (CEXH, "exhaustive_masking")],
        faults: &["ForeignMaskedAccepted"],
    },
    Link {
        rule: "D16 Verify answers Ok(not valid) for any wrong or malformed signature",
        model: &[("step.rs", "verify")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_keys")],
        faults: &[],
    },
    Link {
        rule: "D17 clone keeps the target's own AU; other users copied with their counters",
        model: &[("step.rs", "clone_hsm")],
        properties: &[p::BLANK_HSM_HOLDS_ONLY_AU],
        tests: &[(CEXH, "exhaustive_fresh")],
        faults: &["CloneCopiesAu"],
    },
    Link {
        rule: "D18 zeroize of a blank HSM succeeds",
        model: &[("step.rs", "zeroize")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_fresh")],
        faults: &[],
    },
    Link {
        rule: "D19 ChangePassword of the CO's own name clears its counter; ChangeOwnPassword never does",
        model: &[("step.rs", "change_password"), ("step.rs", "change_own_password")],
        properties: &[],
        tests: &[(CEXH, "exhaustive_users")],
        faults: &["ChangeOwnPasswordUnlocks"],
    },
    Link {
        rule: "D20 CreateUser with the AU's or the PRECO's role is InvalidRole",
        model: &[("step.rs", "create_user")],
        properties: &[],
        tests: &[(EXH, "the_concerns_together_reach_every_code_and_every_cell")],
        faults: &[],
    },
    Link {
        rule: "D21 hazard history is ghost state outside the state's identity",
        model: &[("state.rs", "HsmGhost")],
        properties: &[p::DELETED_KEY_REVIVED, p::KEY_PASSES_TO_NEW_NAMESAKE],
        tests: &[(EXH, "symmetry_reduction_agrees_with_the_full_state_space")],
        faults: &[],
    },
    Link {
        rule: "D22 model bounds: the default configuration locks on the first failure",
        model: &[("config.rs", "default_config")],
        properties: &[p::ALL_COS_LOCKED],
        tests: &[],
        faults: &[],
    },
    Link {
        rule: "D23 hsm-impl's audit log: CO only; zeroize keeps only its own record (not in the model)",
        model: &[],
        properties: &[],
        tests: &[],
        faults: &[],
    },
    Link {
        rule: "D24 symmetry: least renaming among those that sort names by signature",
        model: &[("symmetry.rs", "Symmetry")],
        properties: &[],
        tests: &[
            (EXH, "symmetry_reduction_agrees_with_the_full_state_space"),
            (EXH, "the_compact_engine_agrees_with_stateright"),
        ],
        faults: &[],
    },
    Link {
        rule: "D25 the compact engine by default, held to stateright's; guards before effects",
        model: &[("explore.rs", "explore"), ("checker.rs", "for_each_successor")],
        properties: &[],
        tests: &[
            (EXH, "the_compact_engine_agrees_with_stateright"),
            (ENGINE, "errors_leave_the_state_untouched_before_the_restore"),
            (ENGINE, "the_packed_encoding_gives_back_the_whole_state"),
        ],
        faults: &[],
    },
    Link {
        rule: "D26 the scaling study: each bound of masking on its own, one run per process (not in the model)",
        model: &[],
        properties: &[],
        tests: &[(SCALE, "unique_states_grow_with_names_and_are_plotted")],
        faults: &[],
    },
    Link {
        rule: "D27 [operations](operations.md), names: names: lower-cased, then validated, in one place; stored, compared and sorted lower-case; traces record the spelling sent",
        model: &[
            ("config.rs", "user_named"),
            ("config.rs", "stored_name"),
            ("step.rs", "list_users"),
        ],
        properties: &[],
        tests: &[
            (NAMES, "two_spellings_are_one_user"),
            (NAMES, "list_users_sorts_by_the_lower_cased_name"),
            (NAMES, "spellings_add_no_state"),
            (CEXH, "exhaustive_users"),
            (TRACES, "committed_traces_replay_without_divergence"),
        ],
        faults: &["NamesNotLowerCased"],
    },
    Link {
        rule: "D28 a failing trace is re-run on fresh systems; one that does not fail at the same step every time is FAIL (flaky), saved unshrunk with every run; only what reproduces is shrunk (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (FLAKY, "a_system_wrong_now_and_then_is_flaky_on_every_seed"),
            (FLAKY, "a_system_wrong_once_in_its_lifetime_is_flaky"),
            (FLAKY, "a_panic_in_the_system_is_a_shrunk_failure"),
            (ZOO, "a_flaky_implementation_fails"),
        ],
        faults: &[],
    },
    Link {
        rule: "D29 one verdict per command (PASS, FAIL, INCOMPLETE), whatever the output format; exit 0, 1, or 2 for usage and unreadable input only (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (VERDICTS, "check_gives_the_same_verdict_in_text_and_json"),
            (VERDICTS, "conform_gives_the_same_verdict_with_and_without_a_report"),
            (VERDICTS, "replay_replays_every_file"),
        ],
        faults: &[],
    },
    Link {
        rule: "D30 a process under test runs in its own process group, killed and reaped whatever happens (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (ZOO, "a_slow_but_right_implementation_passes"),
            (ZOO, "replay_against_a_hanging_implementation"),
            (ZOO, "an_interrupted_run_leaves_nothing_behind"),
        ],
        faults: &[],
    },
    Link {
        rule: "D31 the command line is its own package; the runner library carries none of its dependencies (not in the model)",
        model: &[],
        properties: &[],
        tests: &[(HOUSE, "the_runner_library_has_no_command_line_dependency")],
        faults: &[],
    },
    Link {
        rule: "D40 every machine-readable output is one versioned JSON document, validated against its committed schema (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (SCHEMA, "check_on_the_suite_is_one_document_with_the_suite_verdict"),
            (SCHEMA, "conform_and_replay_documents_validate_on_pass_and_on_failure"),
            (SCHEMA, "the_schema_rejects_a_document_without_its_verdict_or_with_unknown_fields"),
        ],
        faults: &[],
    },
    Link {
        rule: "D41 with --json, stdout holds only the document and the text goes to stderr (not in the model)",
        model: &[],
        properties: &[],
        tests: &[(SCHEMA, "conform_and_replay_documents_validate_on_pass_and_on_failure")],
        faults: &[],
    },
    Link {
        rule: "D42 paths are told step by step with outcomes and the cluster as a person pictures it; no Rust Debug text in any output (not in the model)",
        model: &[("story.rs", "story"), ("story.rs", "cluster_view")],
        properties: &[],
        tests: &[
            (STORIES, "a_counterexample_of_check_is_a_story_with_the_cluster_at_the_violating_step"),
            (STORIES, "conform_and_replay_tell_a_failure_step_by_step"),
            (STORIES, "no_command_prints_rust_debug_text"),
        ],
        faults: &[],
    },
    Link {
        rule: "D43 the Explorer serves the model wrapped: the cluster view, sentences with outcomes, concrete paths, examples that are off named so (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (EXPLORER, "the_explorer_shows_names_roles_outcomes_and_the_configuration"),
            (EXPLORER, "explore_takes_another_configuration_with_config"),
        ],
        faults: &[],
    },
    Link {
        rule: "D44 progress is a live line on a terminal, a plain line every 10 s elsewhere, nothing with --quiet (not in the model)",
        model: &[],
        properties: &[],
        tests: &[(STORIES, "progress_off_a_terminal_is_a_plain_line_now_and_then")],
        faults: &[],
    },
    Link {
        rule: "D45 the docs stand alone: no SPEC section cited, every error code and a whole session in the protocol page (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (CDOCS, "the_protocol_page_lists_every_error_code_and_a_whole_session"),
            (CDOCS, "no_docs_page_cites_spec_sections"),
        ],
        faults: &[],
    },
    Link {
        rule: "D46 the random campaign adds a run at the spec's default policy, in the summary, the document and the JUnit report (not in the model)",
        model: &[],
        properties: &[],
        tests: &[(SCHEMA, "conform_and_replay_documents_validate_on_pass_and_on_failure")],
        faults: &[],
    },
    Link {
        rule: "D47 replay of files and directories: a summary of every judgement, a JSON document and a JUnit report; unreadable files are never PASS (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (CLI_SCENARIOS, "replay_of_the_scenario_directory_passes_and_counts_every_file"),
            (CLI_SCENARIOS, "replay_of_a_directory_with_failing_and_unreadable_files"),
            (CLI_SCENARIOS, "a_wrong_expectation_in_any_scenario_names_its_file_line_and_both_outcomes"),
        ],
        faults: &[],
    },
    Link {
        rule: "D48 the Explorer's page names the configuration in words; a port in use is a usage error (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (EXPLORER, "the_explorer_shows_names_roles_outcomes_and_the_configuration"),
            (STORIES, "no_command_prints_rust_debug_text"),
        ],
        faults: &[],
    },
    Link {
        rule: "D49 every page that states rules links the scenarios that show them; rules are said in words with their page (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (SCENARIOS, "each_rules_page_links_its_scenarios_and_every_link_resolves"),
            (SCENARIOS, "every_scenario_is_linked_from_the_docs"),
            (CDOCS, "no_docs_page_cites_spec_sections"),
        ],
        faults: &[],
    },
    Link {
        rule: "D70 concurrent histories are judged on their record by linearizability against the model, and shrunk soundly (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (CONCURRENT, "the_correct_implementation_is_linearizable"),
            (CONCURRENT, "every_race_fault_is_caught"),
            (CLI_CONCURRENT, "a_history_no_order_explains_fails_replay_and_says_why"),
            (
                CLI_CONCURRENT,
                "conform_concurrent_4_fails_on_each_race_fault_with_a_replayable_history",
            ),
        ],
        faults: &[],
    },
    Link {
        rule: "D72 concurrent campaigns reach a process through one shared connection, answers matched by id (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (CONCURRENT, "every_race_fault_is_caught_through_the_process_protocol"),
            (CONCURRENT, "a_process_without_the_concurrent_capability_is_refused"),
            (CLI_CONCURRENT, "conform_concurrent_4_passes_through_serve_impl"),
            (
                CLI_CONCURRENT,
                "a_process_that_dies_mid_campaign_fails_it_with_a_command_to_reproduce",
            ),
        ],
        faults: &[],
    },
    Link {
        rule: "D73 a concurrent campaign prints one versioned JSON document of its own, and tells operations in words (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (SCHEMA, "concurrent_json_validates_on_a_pass_and_on_a_process_that_fails"),
            (SCHEMA, "concurrent_report_of_a_race_validates_with_its_saved_history"),
            (STORIES, "no_command_prints_rust_debug_text"),
        ],
        faults: &[],
    },
    Link {
        rule: "D60 scenarios are a line-oriented text format lexed with winnow; every mistake in a file has its line and column",
        model: &[("scenario/syntax.rs", "parse_line"), ("scenario/mod.rs", "Scenario")],
        properties: &[],
        tests: &[
            (MODEL_SCENARIOS, "mistakes_in_the_file_are_reported_with_line_and_column"),
            (MODEL_SCENARIOS, "any_text_is_read_without_panicking"),
            (CLI_SCENARIOS, "a_wrong_expectation_fails_with_its_line_and_a_mistake_is_unreadable"),
        ],
        faults: &[],
    },
    Link {
        rule: "D61 a scenario is checked on the model (bindings hold the model's answers) and replayed as a v1 trace with the model's outcomes",
        model: &[("scenario/resolve.rs", "run")],
        properties: &[],
        tests: &[
            (MODEL_SCENARIOS, "a_wrong_expectation_names_its_line_and_both_outcomes"),
            (SCENARIOS, "every_scenario_agrees_with_the_model_and_replays_on_the_implementation"),
            (SCENARIOS, "the_scenarios_catch_every_fault_of_the_zoo"),
        ],
        faults: &[],
    },
    Link {
        rule: "D62 what a scenario's header leaves out is inferred from use; the model's capacity is a mistake of the file, never an HSM error",
        model: &[("scenario/resolve.rs", "run")],
        properties: &[],
        tests: &[
            (MODEL_SCENARIOS, "a_scenario_runs_on_the_model_into_a_trace_with_its_outcomes"),
            (MODEL_SCENARIOS, "the_model_capacity_is_a_mistake_of_the_file_not_an_error_of_the_hsm"),
        ],
        faults: &[],
    },
    Link {
        rule: "D63 v1 traces convert to scenarios with the same outcomes; failures are saved in both forms",
        model: &[("scenario/write.rs", "to_scenario")],
        properties: &[],
        tests: &[
            (MODEL_SCENARIOS, "a_v1_trace_converts_to_a_scenario_with_the_same_outcomes"),
            (CLI_SCENARIOS, "converted_traces_replay_and_a_scenario_runs_through_sut_cmd"),
        ],
        faults: &[],
    },
    Link {
        rule: "D67 the state is generic over its capacity: one step function, small for the checker, large for replay, scenarios and campaigns",
        model: &[("state.rs", "StateOf"), ("config.rs", "validate_for")],
        properties: &[],
        tests: &[
            ("model/tests/capacity.rs", "small_and_large_states_answer_every_action_alike"),
            ("model/tests/capacity.rs", "the_spec_defaults_fit_the_large_capacity_and_not_the_small_one"),
        ],
        faults: &[],
    },
    Link {
        rule: "D50 protocol version 2: a step answered with every HSM's observation, `unsupported` makes the run INCOMPLETE, version 1 still spoken (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (PROTOCOL, "python_example_passes_on_its_subset"),
            (PROTOCOL, "unsupported_operations_make_the_run_incomplete"),
            (PROTOCOL, "version_1_is_still_spoken"),
            (PROTOCOL, "a_version_2_step_without_its_observation_diverges"),
            (PROTOCOL, "the_fault_zoo_is_caught_through_the_protocol"),
        ],
        faults: &[],
    },
    Link {
        rule: "D51 profiles: what a class of systems has, and its deviations as a layer over step (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (PROFILE, "a_campaign_generates_only_what_the_profile_has"),
            (PROFILE, "a_declared_deviation_the_system_does_not_have_fails"),
            (ZOO, "a_declared_deviation_passes_and_is_seen_an_undeclared_one_fails"),
        ],
        faults: &[],
    },
Link {
        rule: "D80 simulate: seeded swarm walks, every invariant on every successor; PASS is a sample, INCOMPLETE when cut",
        model: &[("simulate.rs", "simulate")],
        properties: &[],
        tests: &[
            (SIMULATE, "simulate_finds_every_planted_fault_on_default_within_its_budget"),
            (SIMULATE, "simulate_passes_the_correct_model_on_the_same_budget_and_repeats_itself"),
            (SCHEMA, "simulate_on_a_planted_fault_fails_validates_and_saves_a_trace_replay_reads"),
        ],
        faults: &[],
    },
    Link {
        rule: "D52 a PKCS#11 token as the cluster: one HSM, the PRECO is the SO, activation by its first C_SetPIN, the CU is the User (not in the model)",
        model: &[],
        properties: &[],
        tests: &[(PKCS11, "softhsm2_passes_the_random_campaign_with_its_declared_deviations")],
        faults: &[],
    },
    Link {
        rule: "D53 a profile's shape: one HSM, no AU (never named, compared as absent) (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (PROFILE_LAYER, "a_class_without_the_au_never_names_it_lists_it_or_compares_it"),
            (PROFILE, "a_campaign_generates_only_what_the_profile_has"),
            (PKCS11, "softhsm2_passes_the_random_campaign_with_its_declared_deviations"),
        ],
        faults: &[],
    },
    Link {
        rule: "D81 the default suite ends with `families`, every operation family in one configuration; what it cannot reach is reached by `accounts` and `keys`",
        model: &[("config.rs", "families"), ("config.rs", "all_families")],
        properties: &[],
        tests: &[(EXH, "families_reaches_an_ok_of_every_operation_but_hmac")],
        faults: &[],
    },
    Link {
        rule: "D82 the checker steps one variant of a group the step function's own first checks refute alike",
        model: &[
            ("checker.rs", "enabled"),
            ("step.rs", "first_key_check"),
            ("step.rs", "new_user_check"),
        ],
        properties: &[],
        tests: &[(ENGINE, "the_prefilter_drops_only_errors_another_variant_answers")],
        faults: &[],
    },
    Link {
        rule: "D83 fingerprints and the change test read only the configuration's HSMs and their sessions",
        model: &[("explore.rs", "fingerprint_in"), ("packed.rs", "equal_within")],
        properties: &[],
        tests: &[
            (ENGINE, "the_prefilter_drops_only_errors_another_variant_answers"),
            (ENGINE, "a_state_beyond_its_shape_is_encoded_whole"),
        ],
        faults: &[],
    },
    Link {
        rule: "D54 state-rewriting deviations: set_pin_clears_failures (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (PROFILE_LAYER, "wrap_order_and_set_pin_rewrite_only_their_case"),
            (PKCS11, "each_softhsm2_deviation_has_a_trace_that_fails_without_it"),
        ],
        faults: &[],
    },
    Link {
        rule: "D55 the PKCS#11 bridge: a worker per client, re-initialised after a PIN change, keys by CKA_ID, one error table (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (PKCS11, "the_error_table_is_documented"),
            (PKCS11, "workers_are_reaped_and_tokens_removed_whether_the_bridge_ends_or_is_killed"),
            (PKCS11, "softhsm2_passes_the_random_campaign_with_its_declared_deviations"),
        ],
        faults: &[],
    },
    Link {
        rule: "D56 SoftHSM2 in the test suite, required (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (PKCS11, "softhsm2_passes_the_random_campaign_with_its_declared_deviations"),
            (PKCS11, "each_softhsm2_deviation_has_a_trace_that_fails_without_it"),
            (PKCS11, "softhsm2_passes_the_exhaustive_campaign_of_its_profile"),
            (PKCS11, "the_scenarios_that_fit_softhsm2_pass_and_the_others_say_why_not"),
        ],
        faults: &[],
    },
    Link {
        rule: "D57 the exhaustive campaign under a profile: the configurations it names, its actions only, its layer, the walk bounded under no_lockout (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (PKCS11, "softhsm2_passes_the_exhaustive_campaign_of_its_profile"),
            (
                PKCS11,
                "the_exhaustive_campaign_under_the_class_without_its_deviations_fails",
            ),
            (PROFILE_LAYER, "bad_files_are_usage_errors_that_say_why"),
        ],
        faults: &[],
    },
    Link {
        rule: "D58 scenarios under a profile: those outside it listed with why, the others held to the model with the layer, changed expectations reported (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (PKCS11, "the_scenarios_that_fit_softhsm2_pass_and_the_others_say_why_not"),
            (
                PKCS11,
                "a_fitting_scenario_fails_under_the_class_without_the_deviation_that_changes_it",
            ),
            (PROFILE_LAYER, "a_trace_fits_or_says_what_it_needs"),
        ],
        faults: &[],
    },
    Link {
        rule: "D59 a verdict's notes: what was left out by design, said without changing the verdict (not in the model)",
        model: &[],
        properties: &[],
        tests: &[
            (
                "conformance/src/verdict.rs",
                "failures_outrank_gaps_and_gaps_outrank_a_pass",
            ),
            (PKCS11, "the_scenarios_that_fit_softhsm2_pass_and_the_others_say_why_not"),
        ],
        faults: &[],
    },
];
