//! The signals around one command: start, then finished or failed.
//!
//! Input: the command name, its arguments as JSON and the project name. Output: the
//! start signal `migration_<command>_command`, then exactly one `command_finished` or
//! `command_failed` with the duration, and stage signals in between stamped with the
//! command. It refuses to start a command a policy denied: [`Denied`] is returned and
//! `command_failed` is sent for it, so audits see the denial.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::names::{COMMAND_FAILED, COMMAND_FINISHED, start_signal};
use super::{Dispatcher, SendReport, Signal};

/// A policy denied a command's start signal; the command must not run.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Command `{command}` denied by policy `{handler}`: {reason}")]
pub struct Denied {
    pub command: String,
    pub handler: String,
    pub reason: String,
    /// Everything the handlers said about the start signal.
    pub report: SendReport,
}

/// A command that has started; send its end with [`CommandRun::finished`] or
/// [`CommandRun::failed`]. Dropped without either, it sends `command_failed` itself,
/// so every start is followed by an end.
#[must_use = "a command run must end with `finished` or `failed`"]
#[derive(Debug)]
pub struct CommandRun {
    dispatcher: Dispatcher,
    command: String,
    arguments: Value,
    project: String,
    started: Instant,
    start_report: SendReport,
    ended: bool,
}

impl Dispatcher {
    /// Sends `migration_<command>_command` with `{command, arguments, project,
    /// tool_version}`. A policy's deny ends the command here: `command_failed` is
    /// sent and [`Denied`] returned.
    pub fn start_command(
        &self,
        command: &str,
        arguments: Value,
        project: &str,
    ) -> Result<CommandRun, Denied> {
        let payload = json!({
            "command": command,
            "arguments": arguments,
            "project": project,
            "tool_version": crate::VERSION,
        });
        let started = Instant::now();
        let report = self.send(Signal::new(start_signal(command), command, payload));
        let mut run = CommandRun {
            dispatcher: self.clone(),
            command: command.to_owned(),
            arguments,
            project: project.to_owned(),
            started,
            start_report: report,
            ended: false,
        };
        match run.start_report.refused() {
            None => Ok(run),
            Some((handler, reason)) => {
                let denied = Denied {
                    command: command.to_owned(),
                    handler,
                    reason,
                    report: run.start_report.clone(),
                };
                let mut payload = run.end_payload();
                payload.insert("error".into(), Value::String(denied.to_string()));
                payload.insert("denied_by".into(), Value::String(denied.handler.clone()));
                run.end(COMMAND_FAILED, payload);
                Err(denied)
            }
        }
    }
}

impl CommandRun {
    /// The command's name, e.g. `migrate`.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// What the handlers said about the start signal (warnings to show).
    pub fn start_report(&self) -> &SendReport {
        &self.start_report
    }

    /// Sends a stage signal (`revision_applied`, `models_discovered` ...) during this
    /// command; an object payload gets a `command` key unless it has one.
    pub fn send(&self, name: &str, payload: Value) -> SendReport {
        let payload = match payload {
            Value::Object(mut map) => {
                map.entry("command")
                    .or_insert_with(|| Value::String(self.command.clone()));
                Value::Object(map)
            }
            other => other,
        };
        self.dispatcher
            .send(Signal::new(name, self.command.as_str(), payload))
    }

    /// Sends `command_finished` with `{command, arguments, project, duration_ms}` plus
    /// the keys of `extra` (an object; anything else goes under `result`).
    pub fn finished(mut self, extra: Value) -> SendReport {
        let mut payload = self.end_payload();
        match extra {
            Value::Object(map) => {
                for (key, value) in map {
                    payload.entry(key).or_insert(value);
                }
            }
            Value::Null => {}
            other => {
                payload.insert("result".into(), other);
            }
        }
        self.end(COMMAND_FINISHED, payload)
    }

    /// Sends `command_failed` with `{command, arguments, project, duration_ms, error}`.
    pub fn failed(mut self, error: &str) -> SendReport {
        let mut payload = self.end_payload();
        payload.insert("error".into(), Value::String(error.to_owned()));
        self.end(COMMAND_FAILED, payload)
    }

    fn end_payload(&self) -> Map<String, Value> {
        let micros = self.started.elapsed().as_micros();
        let duration_ms = f64::from(u32::try_from(micros).unwrap_or(u32::MAX)) / 1000.0;
        let mut payload = Map::new();
        payload.insert("command".into(), Value::String(self.command.clone()));
        payload.insert("arguments".into(), self.arguments.clone());
        payload.insert("project".into(), Value::String(self.project.clone()));
        payload.insert("duration_ms".into(), json!(duration_ms));
        payload
    }

    fn end(&mut self, name: &str, payload: Map<String, Value>) -> SendReport {
        self.ended = true;
        self.dispatcher.send(Signal::new(
            name,
            self.command.as_str(),
            Value::Object(payload),
        ))
    }
}

impl Drop for CommandRun {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let error = if std::thread::panicking() {
            "Command panicked"
        } else {
            "Command ended without reporting a result"
        };
        let mut payload = self.end_payload();
        payload.insert("error".into(), Value::String(error.to_owned()));
        self.end(COMMAND_FAILED, payload);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::signals::{HandlerMode, Verdict};

    fn recorder(d: &Dispatcher) -> Arc<Mutex<Vec<Signal>>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        d.connect_fn("*", "recorder", HandlerMode::Observer, move |s: &Signal| {
            sink.lock().expect("lock").push(s.clone());
            Ok(Verdict::Proceed)
        });
        seen
    }

    fn names(seen: &Mutex<Vec<Signal>>) -> Vec<String> {
        seen.lock()
            .expect("lock")
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    #[test]
    fn start_then_finished_with_duration_and_extra() {
        let d = Dispatcher::new();
        let seen = recorder(&d);
        let run = d
            .start_command("migrate", json!({"target": "head"}), "blog")
            .expect("no policy");
        assert_eq!(run.command(), "migrate");
        let stage = run.send("revision_applied", json!({"revision": "ae1f"}));
        assert_eq!(stage.outcomes.len(), 1);
        std::thread::sleep(Duration::from_millis(15));
        let report = run.finished(json!({"applied": ["ae1f"], "command": "ignored"}));
        assert_eq!(report.signal, "command_finished");
        let seen = seen.lock().expect("lock");
        let names: Vec<&str> = seen.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "migration_migrate_command",
                "revision_applied",
                "command_finished"
            ]
        );
        assert_eq!(
            seen[0].payload,
            json!({"command": "migrate", "arguments": {"target": "head"}, "project": "blog", "tool_version": crate::VERSION})
        );
        assert_eq!(
            seen[1].payload,
            json!({"revision": "ae1f", "command": "migrate"})
        );
        assert_eq!(seen[1].command, "migrate");
        let end = &seen[2].payload;
        assert_eq!(end["command"], "migrate");
        assert_eq!(end["arguments"], json!({"target": "head"}));
        assert_eq!(end["project"], "blog");
        assert_eq!(end["applied"], json!(["ae1f"]));
        let duration = end["duration_ms"].as_f64().expect("duration is a number");
        assert!((15.0..60_000.0).contains(&duration), "{duration}");
    }

    #[test]
    fn failed_carries_the_error() {
        let d = Dispatcher::new();
        let seen = recorder(&d);
        let run = d
            .start_command("status", json!({}), "blog")
            .expect("no policy");
        let report = run.failed("Cannot connect to `mysql://u:hunter2@h/db`: run hunter2");
        assert_eq!(report.signal, "command_failed");
        let seen = seen.lock().expect("lock");
        let end = &seen[1].payload;
        assert_eq!(
            end["error"],
            "Cannot connect to `mysql://u:***@h/db`: run hunter2"
        );
        assert_eq!(end["command"], "status");
        assert!(end["duration_ms"].is_number());
    }

    #[test]
    fn a_policy_deny_refuses_the_command_and_reports_the_failure() {
        let d = Dispatcher::new();
        let seen = recorder(&d);
        d.connect_fn(
            "migration_migrate_command",
            "freeze",
            HandlerMode::Policy,
            |_: &Signal| Ok(Verdict::Deny("Deploys are frozen".into())),
        );
        let denied = d
            .start_command("migrate", json!({}), "blog")
            .expect_err("denied");
        assert_eq!(denied.handler, "freeze");
        assert_eq!(denied.reason, "Deploys are frozen");
        assert_eq!(
            denied.to_string(),
            "Command `migrate` denied by policy `freeze`: Deploys are frozen"
        );
        assert_eq!(
            names(&seen),
            ["migration_migrate_command", "command_failed"]
        );
        let end = seen.lock().expect("lock")[1].payload.clone();
        assert_eq!(end["denied_by"], "freeze");
        assert_eq!(end["error"], denied.to_string());
    }

    #[test]
    fn an_observer_deny_only_warns() {
        let d = Dispatcher::new();
        d.connect_fn("*", "grumpy", HandlerMode::Observer, |_: &Signal| {
            Ok(Verdict::Deny("no".into()))
        });
        let run = d
            .start_command("migrate", json!({}), "blog")
            .expect("observers cannot deny");
        assert_eq!(run.start_report().warnings(), [("grumpy", "no")]);
        let _ = run.finished(Value::Null);
    }

    #[test]
    fn dropping_a_run_sends_command_failed() {
        let d = Dispatcher::new();
        let seen = recorder(&d);
        {
            let _run = d
                .start_command("check", json!({}), "blog")
                .expect("no policy");
        }
        assert_eq!(names(&seen), ["migration_check_command", "command_failed"]);
        let end = seen.lock().expect("lock")[1].payload.clone();
        assert_eq!(end["error"], "Command ended without reporting a result");
    }

    #[test]
    fn finished_sends_exactly_one_end() {
        let d = Dispatcher::new();
        let seen = recorder(&d);
        let run = d
            .start_command("heads", json!({}), "blog")
            .expect("no policy");
        let _ = run.finished(json!("3 heads"));
        assert_eq!(
            names(&seen),
            ["migration_heads_command", "command_finished"]
        );
        assert_eq!(seen.lock().expect("lock")[1].payload["result"], "3 heads");
    }
}
