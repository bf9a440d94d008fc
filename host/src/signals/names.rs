//! The signal names, spelled as the Python original spelled them.
//!
//! Input: a command name. Output: its start signal (`migration_<command>_command`) and
//! whether a name is a start signal, the only kind on which a policy may deny. It
//! does not check that a command exists: the CLI owns the command list.

/// Connect to this name to receive every signal.
pub const ALL_SIGNALS: &str = "*";

/// Sent after every command that succeeded.
pub const COMMAND_FINISHED: &str = "command_finished";
/// Sent after every command that failed (or was denied by a policy).
pub const COMMAND_FAILED: &str = "command_failed";
/// Sent by the runner before it applies or reverts revisions (a start signal).
pub const ALEMBIC_COMMAND_STARTED: &str = "alembic_command_started";
/// Sent by the runner after a successful engine run.
pub const ALEMBIC_COMMAND_COMPLETED: &str = "alembic_command_completed";
/// Sent by the runner when the engine run failed.
pub const ALEMBIC_COMMAND_FAILED: &str = "alembic_command_failed";
/// Sent by the runner once per applied or reverted revision.
pub const REVISION_APPLIED: &str = "revision_applied";
/// Sent by discovery with the tables it found.
pub const MODELS_DISCOVERED: &str = "models_discovered";
/// Sent by autogenerate with the revision file it wrote.
pub const MIGRATION_GENERATED: &str = "migration_generated";

macro_rules! start_signals {
    ($($konst:ident = $command:literal),* $(,)?) => {
        $(
            #[doc = concat!("Sent when `", $command, "` starts.")]
            pub const $konst: &str = concat!("migration_", $command, "_command");
        )*
        /// Every command of the CLI.
        pub const COMMANDS: &[&str] = &[$($command),*];
    };
}

start_signals! {
    MIGRATION_STARTPROJECT_COMMAND = "startproject",
    MIGRATION_MAKEMIGRATIONS_COMMAND = "makemigrations",
    MIGRATION_MIGRATE_COMMAND = "migrate",
    MIGRATION_ROLLBACK_COMMAND = "rollback",
    MIGRATION_STAMP_COMMAND = "stamp",
    MIGRATION_MERGE_COMMAND = "merge",
    MIGRATION_SQUASH_COMMAND = "squash",
    MIGRATION_FRESH_COMMAND = "fresh",
    MIGRATION_RESET_COMMAND = "reset",
    MIGRATION_STATUS_COMMAND = "status",
    MIGRATION_CURRENT_COMMAND = "current",
    MIGRATION_HISTORY_COMMAND = "history",
    MIGRATION_SHOW_COMMAND = "show",
    MIGRATION_HEADS_COMMAND = "heads",
    MIGRATION_BRANCHES_COMMAND = "branches",
    MIGRATION_LIST_COMMAND = "list",
    MIGRATION_CHECK_COMMAND = "check",
    MIGRATION_VALIDATE_COMMAND = "validate",
    MIGRATION_CLEAN_COMMAND = "clean",
    MIGRATION_DISCOVER_COMMAND = "discover",
    MIGRATION_PLUGINS_COMMAND = "plugins",
    MIGRATION_GRAPH_COMMAND = "graph",
    MIGRATION_CONFIG_COMMAND = "config",
    MIGRATION_COMPLETIONS_COMMAND = "completions",
}

/// `migration_<command>_command`, the signal a command sends when it starts.
pub fn start_signal(command: &str) -> String {
    format!("migration_{command}_command")
}

/// Whether `name` is a start signal (`migration_<command>_command` or
/// `alembic_command_started`): the only signals on which a policy's deny counts.
pub fn is_start_signal(name: &str) -> bool {
    name == ALEMBIC_COMMAND_STARTED
        || name
            .strip_prefix("migration_")
            .and_then(|rest| rest.strip_suffix("_command"))
            .is_some_and(|command| !command.is_empty())
}

/// Whether a policy's deny counts on `name`: the start signals, and
/// `migration_generated`, which autogenerate sends before it writes the revision file
/// (so a policy can refuse, say, a destructive migration before it exists).
pub fn is_gate_signal(name: &str) -> bool {
    is_start_signal(name) || name == MIGRATION_GENERATED
}

/// Every signal name this tool sends, for validating a plugin's `signals` list.
pub fn known_signals() -> Vec<String> {
    let mut names: Vec<String> = COMMANDS.iter().map(|c| start_signal(c)).collect();
    names.extend(
        [
            COMMAND_FINISHED,
            COMMAND_FAILED,
            ALEMBIC_COMMAND_STARTED,
            ALEMBIC_COMMAND_COMPLETED,
            ALEMBIC_COMMAND_FAILED,
            REVISION_APPLIED,
            MODELS_DISCOVERED,
            MIGRATION_GENERATED,
        ]
        .map(str::to_owned),
    );
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_signals_use_the_original_names() {
        assert_eq!(start_signal("migrate"), "migration_migrate_command");
        assert_eq!(
            MIGRATION_MAKEMIGRATIONS_COMMAND,
            "migration_makemigrations_command"
        );
        assert_eq!(COMMANDS.len(), 24);
        for command in COMMANDS {
            assert!(is_start_signal(&start_signal(command)), "{command}");
        }
    }

    #[test]
    fn only_start_signals_are_start_signals() {
        assert!(is_start_signal(ALEMBIC_COMMAND_STARTED));
        for name in [
            COMMAND_FINISHED,
            COMMAND_FAILED,
            ALEMBIC_COMMAND_COMPLETED,
            REVISION_APPLIED,
            "migration__command",
            "migration_x",
        ] {
            assert!(!is_start_signal(name), "{name}");
            assert!(!is_gate_signal(name), "{name}");
        }
        assert!(is_gate_signal(MIGRATION_GENERATED));
        assert!(!is_start_signal(MIGRATION_GENERATED));
    }

    #[test]
    fn known_signals_are_unique() {
        let names = known_signals();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        assert_eq!(names.len(), 32);
    }
}
