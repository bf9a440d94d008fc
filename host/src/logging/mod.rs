//! Structured logging for the whole run, configured like the Python original.
//!
//! Input: plain [`LogOptions`] (a Python level name, a Python `%(name)s` format or
//! `json`, an optional file, the `-v`/`-q` count, colour).
//! Output: a `tracing` subscriber that writes one redacted line per event to stderr
//! or appends it to the file. Quiet by default: only warnings and errors show unless
//! `-v` is given. It refuses unknown level names, malformed formats or unknown
//! placeholders (naming them), and a log file whose folder does not exist (it does not
//! create folders).
//!
//! Tests and embedders use [`make_subscriber`] with their own writer and
//! `tracing::subscriber::with_default`; the binary calls [`init`] once.

mod pattern;

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use chrono::{Local, SecondsFormat, Utc};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::redact::{redact_cow, redact_json};
pub use pattern::{PLACEHOLDERS, Pattern};

/// The Python original's default `LOGGING_FORMAT`.
pub const DEFAULT_FORMAT: &str = "%(asctime)s - %(name)s - %(levelname)s - %(message)s";

/// The level used when none is configured.
pub const DEFAULT_LEVEL: &str = "WARNING";

/// The level names a user may configure, in the order `-v` walks down.
pub const LEVEL_NAMES: &[&str] = &["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

/// The environment variable with extra `target=level` directives (as `RUST_LOG`
/// writes them) for other crates' logs, which otherwise stay at WARNING or above.
pub const FILTER_ENV: &str = "SQLALEMBIC_LOG";

/// The target prefix of this crate's own events.
const OWN_TARGET: &str = "sqlalembic";

/// Everything that can go wrong while setting up logging.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Unknown log level `{level}`; use one of DEBUG, INFO, WARNING, ERROR, CRITICAL")]
    InvalidLevel { level: String },
    #[error("{}", unknown_placeholder(name, format, suggestion.as_deref()))]
    UnknownPlaceholder {
        name: String,
        format: String,
        suggestion: Option<String>,
    },
    #[error("Invalid log format `{format}` at character {position}: {reason}")]
    BadFormat {
        format: String,
        /// 1-based character position of the offending `%`.
        position: usize,
        reason: String,
    },
    #[error("Cannot write the log file `{}`: the folder `{}` does not exist", path.display(), folder.display())]
    LogFolderMissing { path: PathBuf, folder: PathBuf },
    #[error("Cannot write the log file: {0}")]
    Refused(#[source] crate::confined::Error),
    #[error("Cannot open the log file `{}`: {source}", path.display())]
    OpenLogFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "Invalid log filter `{filter}` (from `{FILTER_ENV}`): {reason}; write directives like `wasmtime=debug,cranelift_codegen=trace`"
    )]
    BadFilter { filter: String, reason: String },
    #[error("A global logger is already installed: {reason}")]
    AlreadyInstalled { reason: String },
}

fn unknown_placeholder(name: &str, format: &str, suggestion: Option<&str>) -> String {
    let hint = match suggestion {
        Some(suggestion) => format!(", did you mean `%({suggestion})s`?"),
        None => ".".to_owned(),
    };
    format!(
        "Unknown placeholder `%({name})s` in log format `{format}`{hint} Valid placeholders: {}",
        PLACEHOLDERS.join(", ")
    )
}

/// How the run logs; filled by the CLI from settings and flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// Python level name (`DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL`; also
    /// `TRACE`, `WARN`, `FATAL`, `NOTSET` or a Python level number), case-insensitive.
    /// Empty means [`DEFAULT_LEVEL`].
    pub level: String,
    /// A Python `%(name)s` logging format, or `json` for one JSON object per line.
    /// Empty means [`DEFAULT_FORMAT`].
    pub format: String,
    /// Append to this file instead of writing to stderr.
    pub file: Option<PathBuf>,
    /// The project root: a log file inside it is opened only through folders that
    /// stay inside it (see [`crate::confined`]); any log file's last component is
    /// never followed when it is a symbolic link.
    pub root: Option<PathBuf>,
    /// +1 per `-v`, -1 per `-q`: each step moves the level one name down or up.
    pub verbosity: i8,
    /// Colour the level name (only when writing to stderr).
    pub color: bool,
    /// `target=level` directives (comma-separated, `RUST_LOG` syntax) from
    /// [`FILTER_ENV`]; they win over the defaults for the targets they name. Without
    /// them, only this crate's events follow `level` and `verbosity`: other crates (the
    /// WebAssembly compiler and runtime, the database drivers) log warnings and errors
    /// only, since their debug output is many megabytes per plugin compiled.
    pub filter: Option<String>,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            level: DEFAULT_LEVEL.to_owned(),
            format: DEFAULT_FORMAT.to_owned(),
            file: None,
            root: None,
            verbosity: 0,
            color: false,
            filter: None,
        }
    }
}

/// The filter for a configured level moved by `verbosity` steps along
/// TRACE < DEBUG < INFO < WARNING < ERROR < CRITICAL. Tracing has no level above
/// ERROR, so CRITICAL shows nothing.
pub fn level_filter(level: &str, verbosity: i8) -> Result<LevelFilter, Error> {
    const STEPS: [LevelFilter; 6] = [
        LevelFilter::TRACE,
        LevelFilter::DEBUG,
        LevelFilter::INFO,
        LevelFilter::WARN,
        LevelFilter::ERROR,
        LevelFilter::OFF,
    ];
    let name = level.trim().to_ascii_uppercase();
    let index: i64 = match name.as_str() {
        "" => 3,
        "TRACE" | "NOTSET" => 0,
        "DEBUG" => 1,
        "INFO" => 2,
        "WARNING" | "WARN" => 3,
        "ERROR" => 4,
        "CRITICAL" | "FATAL" => 5,
        number => match number.parse::<i64>() {
            Ok(n) if n <= 5 => 0,
            Ok(n) if n <= 10 => 1,
            Ok(n) if n <= 20 => 2,
            Ok(n) if n <= 30 => 3,
            Ok(n) if n <= 40 => 4,
            Ok(_) => 5,
            Err(_) => {
                return Err(Error::InvalidLevel {
                    level: level.to_owned(),
                });
            }
        },
    };
    let step = (index - i64::from(verbosity)).clamp(0, 5);
    Ok(STEPS[usize::try_from(step).unwrap_or(3)])
}

/// The per-target filter: this crate at `own`, every other crate at `own` but never
/// below WARNING, then the user's `directives`, which replace a default for the same
/// target (a bare level replaces the other crates' default).
pub fn target_filter(
    own: LevelFilter,
    directives: Option<&str>,
) -> Result<tracing_subscriber::EnvFilter, Error> {
    let level_name = |l: LevelFilter| l.to_string().to_ascii_lowercase();
    let others = std::cmp::min(own, LevelFilter::WARN);
    let user: Vec<&str> = directives
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    let target_of = |d: &str| -> Option<String> {
        match d.split_once('=') {
            Some((target, _)) => Some(target.split('[').next().unwrap_or(target).to_owned()),
            None if d.parse::<LevelFilter>().is_ok() => None,
            None => Some(d.split('[').next().unwrap_or(d).to_owned()),
        }
    };
    let mut all: Vec<String> = Vec::new();
    if !user.iter().any(|d| target_of(d).is_none()) {
        all.push(level_name(others));
    }
    if !user
        .iter()
        .any(|d| target_of(d).as_deref() == Some(OWN_TARGET))
    {
        all.push(format!("{OWN_TARGET}={}", level_name(own)));
    }
    all.extend(user.iter().map(|d| (*d).to_owned()));
    tracing_subscriber::EnvFilter::builder()
        .with_regex(false)
        .parse(all.join(","))
        .map_err(|e| Error::BadFilter {
            filter: directives.unwrap_or_default().to_owned(),
            reason: e.to_string(),
        })
}

/// Where [`init`] writes: the options' file (appended, its folder must exist) or stderr.
pub fn writer_for(opts: &LogOptions) -> Result<BoxMakeWriter, Error> {
    match &opts.file {
        Some(path) => Ok(BoxMakeWriter::new(Mutex::new(open_log_file(
            path,
            opts.root.as_deref(),
        )?))),
        None => Ok(BoxMakeWriter::new(io::stderr)),
    }
}

fn open_log_file(path: &Path, root: Option<&Path>) -> Result<File, Error> {
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty())
        && !folder.is_dir()
    {
        return Err(Error::LogFolderMissing {
            path: path.to_owned(),
            folder: folder.to_owned(),
        });
    }
    // Inside the project: confined to it. Elsewhere (a folder the user named, such
    // as `/var/log`): only the last component is checked.
    let inside = root.and_then(|r| {
        path.strip_prefix(r)
            .ok()
            .map(|rel| (r.to_path_buf(), rel.to_path_buf()))
    });
    let (folder, file) = match inside {
        Some(pair) => pair,
        None => (
            path.parent()
                .filter(|f| !f.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            PathBuf::from(path.file_name().unwrap_or(path.as_os_str())),
        ),
    };
    crate::confined::open(&folder, &file, crate::confined::Mode::Append).map_err(|e| match e {
        crate::confined::Error::Io { source, .. } => Error::OpenLogFile {
            path: path.to_owned(),
            source,
        },
        refused => Error::Refused(refused),
    })
}

/// A subscriber writing to `writer` as `opts` say (`opts.file` is ignored here; see
/// [`writer_for`]). Use it with `tracing::subscriber::with_default` in tests.
pub fn make_subscriber<W>(
    opts: &LogOptions,
    writer: W,
) -> Result<impl Subscriber + Send + Sync + 'static, Error>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = target_filter(
        level_filter(&opts.level, opts.verbosity)?,
        opts.filter.as_deref(),
    )?;
    let format = opts.format.trim();
    let style = if format.eq_ignore_ascii_case("json") {
        Style::Json
    } else if format.is_empty() {
        Style::Pattern(Pattern::parse(DEFAULT_FORMAT)?)
    } else {
        Style::Pattern(Pattern::parse(&opts.format)?)
    };
    let line_format = LineFormat {
        style,
        color: opts.color,
        started: Instant::now(),
    };
    let layer = tracing_subscriber::fmt::layer()
        .event_format(line_format)
        .with_writer(writer);
    Ok(tracing_subscriber::registry().with(filter).with(layer))
}

/// Installs the global subscriber (and routes `log` records of dependencies into it).
/// Call it once per process: a second call returns [`Error::AlreadyInstalled`] and
/// leaves the first configuration in place.
pub fn init(opts: &LogOptions) -> Result<(), Error> {
    let writer = writer_for(opts)?;
    let mut opts = opts.clone();
    // Escape codes have no place in a file.
    opts.color &= opts.file.is_none();
    make_subscriber(&opts, writer)?
        .try_init()
        .map_err(|e| Error::AlreadyInstalled {
            reason: e.to_string(),
        })
}

enum Style {
    Pattern(Pattern),
    Json,
}

/// Renders each event as one line in the configured style, redacted.
struct LineFormat {
    style: Style,
    color: bool,
    started: Instant,
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut collector = FieldCollector::default();
        event.record(&mut collector);
        let mut fields = Value::Object(collector.fields);
        redact_json(&mut fields);
        let message = redact_cow(&collector.message).into_owned();
        let span = ctx
            .event_scope()
            .and_then(|mut scope| scope.next())
            .map(|span| span.name());
        let now = Local::now();
        let line = match &self.style {
            Style::Json => {
                let mut object = Map::new();
                object.insert(
                    "timestamp".into(),
                    Value::String(
                        now.with_timezone(&Utc)
                            .to_rfc3339_opts(SecondsFormat::Micros, true),
                    ),
                );
                object.insert(
                    "level".into(),
                    Value::String(pattern::level_name(*meta.level()).into()),
                );
                object.insert("target".into(), Value::String(meta.target().into()));
                object.insert("message".into(), Value::String(message));
                object.insert("fields".into(), fields);
                object.insert(
                    "file".into(),
                    meta.file().map_or(Value::Null, |f| Value::String(f.into())),
                );
                object.insert("line".into(), meta.line().map_or(Value::Null, Value::from));
                if let Some(span) = span {
                    object.insert("span".into(), Value::String(span.into()));
                }
                Value::Object(object).to_string()
            }
            Style::Pattern(pattern) => {
                let mut text = message;
                if let Value::Object(fields) = &fields {
                    for (key, value) in fields {
                        text.push(' ');
                        text.push_str(key);
                        text.push('=');
                        text.push_str(&logfmt_value(value));
                    }
                }
                let thread = std::thread::current();
                let thread_id = thread_number(&thread);
                let thread_name = thread
                    .name()
                    .map_or_else(|| format!("Thread-{thread_id}"), str::to_owned);
                let record = pattern::Record {
                    time: now.fixed_offset(),
                    name: meta.target(),
                    level: *meta.level(),
                    message: &text,
                    pathname: meta.file(),
                    lineno: meta.line(),
                    span,
                    process: std::process::id(),
                    thread_id,
                    thread_name: &thread_name,
                    relative_ms: self.started.elapsed().as_secs_f64() * 1000.0,
                };
                pattern.render(&record, self.color)
            }
        };
        writeln!(writer, "{line}")
    }
}

/// The number inside `ThreadId(N)`; std keeps `as_u64` unstable.
fn thread_number(thread: &std::thread::Thread) -> u64 {
    let debug = format!("{:?}", thread.id());
    debug
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

/// `value` as logfmt: strings bare unless they need quotes, the rest as JSON.
fn logfmt_value(value: &Value) -> String {
    match value {
        Value::String(s)
            if !s.is_empty()
                && !s.contains(|c: char| c.is_whitespace() || c == '"' || c == '=') =>
        {
            s.clone()
        }
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Collects an event's message and its other fields (typed, for JSON).
#[derive(Default)]
struct FieldCollector {
    message: String,
    fields: Map<String, Value>,
}

impl FieldCollector {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        // `log` records carry their location as `log.*` fields; it is shown as metadata.
        if name.starts_with("log.") {
            return;
        }
        if name == "message" {
            self.message = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.fields.insert(name.to_owned(), value);
        }
    }
}

impl Visit for FieldCollector {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(
            field,
            serde_json::Number::from_f64(value)
                .map_or(Value::String(value.to_string()), Value::Number),
        );
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A `MakeWriter` collecting everything written, for assertions.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("buffer lock").clone())
                .expect("utf-8 log output")
        }
    }

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("buffer lock").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn capture(opts: &LogOptions, emit: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let subscriber = make_subscriber(opts, buffer.clone()).expect("valid options");
        tracing::subscriber::with_default(subscriber, emit);
        buffer.text()
    }

    fn opts(level: &str, format: &str, verbosity: i8) -> LogOptions {
        LogOptions {
            level: level.to_owned(),
            format: format.to_owned(),
            verbosity,
            ..LogOptions::default()
        }
    }

    fn emit_all_levels() {
        tracing::trace!("t");
        tracing::debug!("d");
        tracing::info!("i");
        tracing::warn!("w");
        tracing::error!("e");
    }

    #[test]
    fn quiet_by_default_and_each_flag_moves_one_step() {
        let shown = |level: &str, verbosity: i8| {
            capture(&opts(level, "%(message)s", verbosity), emit_all_levels)
                .lines()
                .collect::<Vec<_>>()
                .join("")
        };
        assert_eq!(
            capture(
                &LogOptions {
                    format: "%(message)s".into(),
                    ..LogOptions::default()
                },
                emit_all_levels
            ),
            "w\ne\n"
        );
        assert_eq!(shown("WARNING", 1), "iwe");
        assert_eq!(shown("warning", 2), "diwe");
        assert_eq!(shown("WARNING", 3), "tdiwe");
        assert_eq!(shown("WARNING", 9), "tdiwe");
        assert_eq!(shown("WARNING", -1), "e");
        assert_eq!(shown("WARNING", -2), "");
        assert_eq!(shown("debug", 0), "diwe");
        assert_eq!(shown("Info", -1), "we");
        assert_eq!(shown("CRITICAL", 1), "e");
        assert_eq!(shown("20", 0), "iwe");
        assert_eq!(shown("", 0), "we");
    }

    #[test]
    fn invalid_level_names_the_valid_ones() {
        let err = level_filter("LOUD", 0).expect_err("invalid level");
        assert_eq!(
            err.to_string(),
            "Unknown log level `LOUD`; use one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
        );
        assert!(make_subscriber(&opts("LOUD", "", 0), Buffer::default()).is_err());
    }

    #[test]
    fn renders_python_format_with_fields_and_location() {
        let out = capture(
            &opts(
                "DEBUG",
                "%(levelname)-8s|%(levelno)d|%(name)s|%(filename)s:%(lineno)d|%(module)s|%(funcName)s|%(message)s",
                0,
            ),
            || tracing::info!(target: "sqlalembic::runner", revision = "ae1f", steps = 3, ok = true, note = "two words", "Applied"),
        );
        let line = line!() - 2;
        assert_eq!(
            out,
            format!(
                "INFO    |20|sqlalembic::runner|mod.rs:{line}|mod|mod|Applied revision=ae1f steps=3 ok=true note=\"two words\"\n"
            )
        );
    }

    #[test]
    fn func_name_and_json_span_come_from_the_current_span() {
        let out = capture(&opts("INFO", "%(funcName)s: %(message)s", 0), || {
            let span = tracing::info_span!("apply_revision");
            let _entered = span.enter();
            tracing::warn!("inside");
        });
        assert_eq!(out, "apply_revision: inside\n");
        let out = capture(&opts("INFO", "json", 0), || {
            let span = tracing::info_span!("apply_revision");
            let _entered = span.enter();
            tracing::warn!("inside");
        });
        let value: Value = serde_json::from_str(out.trim_end()).expect("one JSON object");
        assert_eq!(value["span"], "apply_revision");
    }

    #[test]
    fn process_thread_and_time_placeholders() {
        let out = capture(
            &opts(
                "INFO",
                "%(process)d %(threadName)s %(asctime)s %(created)f",
                0,
            ),
            || {
                tracing::warn!("x");
            },
        );
        let parts: Vec<&str> = out.trim_end().split(' ').collect();
        assert_eq!(parts[0], std::process::id().to_string());
        assert!(!parts[1].is_empty());
        assert!(
            chrono::NaiveDateTime::parse_from_str(
                &format!("{} {}", parts[2], parts[3]),
                "%Y-%m-%d %H:%M:%S,%3f"
            )
            .is_ok(),
            "{out}"
        );
        let created: f64 = parts[4].parse().expect("a float");
        assert!((created - Utc::now().timestamp() as f64).abs() < 60.0);
    }

    #[test]
    fn unknown_placeholder_is_an_error() {
        let err = make_subscriber(
            &opts("INFO", "%(asctime)s %(revision)s", 0),
            Buffer::default(),
        )
        .err()
        .expect("unknown placeholder");
        let text = err.to_string();
        assert!(
            text.starts_with("Unknown placeholder `%(revision)s` in log format"),
            "{text}"
        );
        assert!(text.contains("levelname"), "{text}");
    }

    #[test]
    fn json_lines_have_the_documented_shape() {
        let out = capture(&opts("INFO", "JSON", 0), || {
            tracing::warn!(target: "sqlalembic::cli", count = 2, name = "users", "Found tables");
        });
        let line = line!() - 2;
        assert_eq!(out.lines().count(), 1);
        let value: Value = serde_json::from_str(out.trim_end()).expect("one JSON object");
        let keys: Vec<&str> = value
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "timestamp",
                "level",
                "target",
                "message",
                "fields",
                "file",
                "line"
            ]
        );
        assert_eq!(value["level"], "WARNING");
        assert_eq!(value["target"], "sqlalembic::cli");
        assert_eq!(value["message"], "Found tables");
        assert_eq!(
            value["fields"],
            serde_json::json!({"count": 2, "name": "users"})
        );
        assert!(
            value["file"]
                .as_str()
                .expect("file")
                .ends_with("logging/mod.rs")
        );
        assert_eq!(value["line"], line);
        let timestamp = value["timestamp"].as_str().expect("timestamp");
        assert!(
            chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(),
            "{timestamp}"
        );
    }

    #[test]
    fn lines_are_redacted() {
        let o = opts("INFO", "%(message)s", 0);
        let out = capture(&o, || {
            tracing::warn!(
                url = "postgresql://bob:pw@db/app",
                password = "x",
                "login to mysql://u:hunter2@h/db failed: run hunter2 again"
            );
        });
        // The password's text elsewhere is not a secret: masking it would tell it.
        assert_eq!(
            out,
            "login to mysql://u:***@h/db failed: run hunter2 again url=postgresql://bob:***@db/app password=***\n"
        );

        let o = opts("INFO", "json", 0);
        let out = capture(&o, || {
            tracing::warn!(
                detail = "postgresql://u:hunter2@h/d",
                "login 'mysql://u:hunter2@h/db' failed"
            )
        });
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("login 'mysql://u:***@h/db' failed"), "{out}");
    }

    #[test]
    fn colour_only_when_asked() {
        let mut o = opts("INFO", "%(levelname)s %(message)s", 0);
        assert_eq!(capture(&o, || tracing::error!("boom")), "ERROR boom\n");
        o.color = true;
        assert_eq!(
            capture(&o, || tracing::error!("boom")),
            "\x1b[31mERROR\x1b[0m boom\n"
        );
    }

    /// `-vvv` shows this crate's traces and other crates' warnings only, unless
    /// `SQLALEMBIC_LOG` names them.
    #[test]
    fn other_crates_stay_at_warning_unless_named() {
        let emit = || {
            tracing::trace!(target: "sqlalembic::plugins", "own trace");
            tracing::trace!(target: "cranelift_codegen::isa", "compiler trace");
            tracing::debug!(target: "wasmtime::runtime", "runtime debug");
            tracing::warn!(target: "wasmtime::runtime", "runtime warning");
            tracing::info!(target: "sqlx::query", "driver info");
        };
        let shown = |verbosity: i8, filter: Option<&str>| {
            let mut o = opts("WARNING", "%(name)s %(message)s", verbosity);
            o.filter = filter.map(str::to_owned);
            capture(&o, emit)
        };
        assert_eq!(
            shown(3, None),
            "sqlalembic::plugins own trace\nwasmtime::runtime runtime warning\n"
        );
        assert_eq!(shown(0, None), "wasmtime::runtime runtime warning\n");
        assert_eq!(
            shown(3, Some("cranelift_codegen=trace, sqlx=info")),
            "sqlalembic::plugins own trace\ncranelift_codegen::isa compiler trace\nwasmtime::runtime runtime warning\nsqlx::query driver info\n"
        );
        assert_eq!(
            shown(0, Some("debug,sqlalembic=error")),
            "wasmtime::runtime runtime debug\nwasmtime::runtime runtime warning\nsqlx::query driver info\n"
        );
        let mut o = opts("WARNING", "%(message)s", 0);
        o.filter = Some("wasmtime=loud".into());
        let err = make_subscriber(&o, Buffer::default())
            .err()
            .expect("refused");
        assert!(
            err.to_string()
                .starts_with("Invalid log filter `wasmtime=loud` (from `SQLALEMBIC_LOG`)"),
            "{err}"
        );
    }

    #[test]
    fn file_output_appends() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("run.log");
        std::fs::write(&path, "earlier\n").expect("seed the log");
        let mut o = opts("INFO", "%(levelname)s %(message)s", 0);
        o.file = Some(path.clone());
        let subscriber =
            make_subscriber(&o, writer_for(&o).expect("open log")).expect("valid options");
        tracing::subscriber::with_default(subscriber, || tracing::warn!("to the file"));
        assert_eq!(
            std::fs::read_to_string(&path).expect("read log"),
            "earlier\nWARNING to the file\n"
        );
    }

    #[test]
    fn file_in_missing_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nope").join("run.log");
        let o = LogOptions {
            file: Some(path.clone()),
            ..LogOptions::default()
        };
        match writer_for(&o) {
            Err(err @ Error::LogFolderMissing { .. }) => {
                assert!(
                    err.to_string().contains(&path.display().to_string()),
                    "{err}"
                );
            }
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("a missing folder must be refused"),
        }
        assert!(!path.parent().expect("has a parent").exists());
    }
}
