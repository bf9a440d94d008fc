//! `plugins list | check | install | inspect`, and the plugin set-up every other
//! command runs before its start signal.
//!
//! Input: the loaded settings (`[[plugins]]`). Output: per plugin its world and
//! version, subscriptions, mode, permissions, limits, cache state and load error in
//! plain words; `--format json` gives the same as data. Dialect and discovery
//! components (`DB_ENGINE` / `BACKENDS = ["wasm:..."]`) are loaded and shown as their
//! own worlds. `check` exits 1 when a plugin does not load; `install` hashes and
//! compiles ahead of time. It refuses to run a command whose plugin with
//! `on_error = "abort"` did not load (exit 2).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};

use crate::cli::args::PluginsAction;
use crate::cli::{Context, Exit, Failure, Outcome, Printer};
use crate::config::{Loaded, OnError, PluginConfig, Settings};
use crate::plugins::{self, LoadOptions, Plugin, Plugins};
use crate::signals::{Dispatcher, HandlerId};

/// The plugins of one command run, connected to its dispatcher until dropped.
pub struct Connected {
    plugins: Plugins,
    dispatcher: Dispatcher,
    ids: Vec<HandlerId>,
}

impl Drop for Connected {
    fn drop(&mut self) {
        // An embedding program may run several commands on one dispatcher.
        for id in self.ids.drain(..) {
            self.dispatcher.disconnect(id);
        }
    }
}

/// Loads the configured plugins and connects them to `dispatcher` for `command`. A
/// plugin that does not load is a warning, or exit 2 when its `on_error` is `abort`
/// or when it is a policy that guards `command` (a policy that cannot judge refuses).
pub fn connect(
    loaded: &Loaded,
    printer: &Printer,
    dispatcher: &Dispatcher,
    command: &str,
) -> Result<Option<Connected>, Failure> {
    if loaded.settings.plugins.is_empty() {
        return Ok(None);
    }
    let plugins = plugins::load(&loaded.settings).map_err(|e| Failure::new(Exit::Usage, e))?;
    for failure in plugins.failures() {
        let text = format!(
            "Plugin `{}` did not load: {}",
            failure.plugin, failure.error
        );
        let config = loaded
            .settings
            .plugins
            .iter()
            .find(|c| c.name == failure.plugin);
        if let Some(config) = config.filter(|c| c.policy && guards(c, command)) {
            return Err(Failure::usage(format!(
                "Command `{command}` refused: policy {text}; a policy that cannot judge a command refuses it"
            ))
            .hint(format!(
                "Fix the plugin's entry (`path = \"{}\"`), or remove `policy = true` from it to run without it",
                config.path.display()
            ))
            .hint("`sqlalembic plugins check` lists every plugin's problems"));
        }
        if failure.on_error == OnError::Abort {
            return Err(Failure::usage(text)
                .hint("Its `on_error` is `abort`; fix it, or set `on_error = \"warn\"` to run without it")
                .hint("`sqlalembic plugins check` lists every plugin's problems"));
        }
        printer.warn(format!("{text}; going on without it"));
    }
    let ids = plugins.connect(dispatcher);
    Ok(Some(Connected {
        plugins,
        dispatcher: dispatcher.clone(),
        ids,
    }))
}

/// Whether a policy subscribed to `config.signals` judges `command`: unless every
/// signal it listens to is the start signal of another command, it may refuse
/// something `command` does (`alembic_command_started`, `migration_generated`,
/// `revision_applied` ...), so it guards it.
fn guards(config: &PluginConfig, command: &str) -> bool {
    let own = crate::signals::start_signal(command);
    config.signals.is_empty()
        || config.signals.iter().any(|s| {
            s == crate::signals::names::ALL_SIGNALS
                || *s == own
                || !crate::signals::is_start_signal(s)
                || s == crate::signals::names::ALEMBIC_COMMAND_STARTED
        })
}

/// The failure to report when a policy or a plugin with `on_error = "abort"` failed
/// during the command (its start-signal failures already refused the command).
pub fn aborted(connected: Option<&Connected>) -> Option<Failure> {
    let first = connected?.plugins.aborts().into_iter().next()?;
    Some(abort_failure(&first))
}

/// The failure for one abort: what failed, on which signal, and why it stops.
pub fn abort_failure(abort: &plugins::Abort) -> Failure {
    let why = if abort.policy {
        "it is a policy, and a policy that cannot judge fails closed"
    } else {
        "its `on_error` is `abort`"
    };
    Failure::new(
        Exit::Denied,
        anyhow::anyhow!("{} (on `{}`); {why}", abort.error, abort.signal),
    )
    .hint("Fix the plugin or raise its limits (`timeout_ms`, `memory_mb`)")
}

pub fn run(ctx: &Context<'_>, action: &PluginsAction) -> Result<Outcome, Failure> {
    let loaded = ctx.loaded()?;
    let root = &loaded.settings.project_root;
    // Entries that configure the dialect or a discovery backend are other worlds,
    // loaded as such (see `Component`).
    let handlers: Vec<PluginConfig> = loaded
        .settings
        .plugins
        .iter()
        .filter(|c| !plugins::configures_component(&loaded.settings, c))
        .cloned()
        .collect();
    match action {
        PluginsAction::List => list(ctx, loaded),
        PluginsAction::Check => check(ctx, &loaded.settings, &handlers),
        PluginsAction::Install { plugin } => {
            let config = find(&loaded.settings.plugins, plugin, root)?;
            install(ctx, &config, root)
        }
        PluginsAction::Inspect { plugin } => {
            let config = find(&loaded.settings.plugins, plugin, root)?;
            if plugins::configures_component(&loaded.settings, &config) {
                inspect_component(ctx, &loaded.settings, &config.path)
            } else {
                inspect(ctx, &config, root)
            }
        }
    }
}

/// The entry named `wanted` (by name or path); an unconfigured path gets defaults.
fn find(configs: &[PluginConfig], wanted: &str, root: &Path) -> Result<PluginConfig, Failure> {
    if let Some(c) = configs
        .iter()
        .find(|c| c.name == wanted || c.path == Path::new(wanted))
    {
        return Ok(c.clone());
    }
    if wanted.ends_with(".wasm") {
        let path = PathBuf::from(wanted);
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = path
            .strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or(path);
        return Ok(PluginConfig {
            name,
            path,
            signals: Vec::new(),
            on_error: OnError::Warn,
            policy: false,
            timeout_ms: crate::config::DEFAULT_TIMEOUT_MS,
            memory_mb: crate::config::DEFAULT_MEMORY_MB,
            output_kb: crate::config::DEFAULT_OUTPUT_KB,
            write_mb: crate::config::DEFAULT_WRITE_MB,
            allow: crate::config::Allow::default(),
            settings: json!({}),
        });
    }
    let names: Vec<String> = configs.iter().map(|c| format!("`{}`", c.name)).collect();
    let mut failure = Failure::usage(format!("No plugin named `{wanted}` is configured"));
    failure = if names.is_empty() {
        failure.hint("Add a `[[plugins]]` entry to the configuration file, or pass a `.wasm` path")
    } else {
        failure.hint(format!("Configured: {}", names.join(", ")))
    };
    Err(failure)
}

fn mode(config: &PluginConfig) -> &'static str {
    if config.policy { "policy" } else { "observer" }
}

fn on_error(config: &PluginConfig) -> &'static str {
    match config.on_error {
        OnError::Warn => "warn",
        OnError::Abort => "abort",
    }
}

fn subscriptions(config: &PluginConfig) -> String {
    if config.signals.is_empty() {
        "all signals".to_owned()
    } else {
        config.signals.join(", ")
    }
}

fn permissions(config: &PluginConfig) -> String {
    let a = &config.allow;
    let mut parts = Vec::new();
    for (what, list) in [
        ("read", &a.read),
        ("write", &a.write),
        ("env", &a.env),
        ("http", &a.http),
    ] {
        if !list.is_empty() {
            parts.push(format!("{what} {}", list.join(", ")));
        }
    }
    if parts.is_empty() {
        "nothing (deny by default)".to_owned()
    } else {
        parts.join("; ")
    }
}

fn config_json(config: &PluginConfig) -> Value {
    json!({
        "name": config.name,
        "path": config.path,
        "signals": config.signals,
        "mode": mode(config),
        "on_error": on_error(config),
        "timeout_ms": config.timeout_ms,
        "memory_mb": config.memory_mb,
        "allow": config.allow,
    })
}

fn list(ctx: &Context<'_>, loaded: &Loaded) -> Result<Outcome, Failure> {
    let configs = &loaded.settings.plugins;
    let root = &loaded.settings.project_root;
    let status = plugins::status(configs, &LoadOptions::for_project(root))
        .map_err(|e| Failure::new(Exit::Usage, e))?;
    if ctx.printer.is_json() {
        let items: Vec<Value> = configs
            .iter()
            .zip(&status)
            .map(|(c, s)| {
                let mut v = config_json(c);
                v["world"] = json!(plugins::world_of(&loaded.settings, c));
                v["exists"] = json!(s.exists);
                v["sha256"] = json!(s.sha256);
                v["cache"] = json!(s.cache);
                v
            })
            .collect();
        ctx.printer.json(&json!({ "plugins": items }));
        return Ok(Outcome::with(json!({ "plugins": configs.len() })));
    }
    if configs.is_empty() {
        ctx.printer
            .line("No plugins configured (add a `[[plugins]]` entry)");
    }
    for (c, s) in configs.iter().zip(&status) {
        let cache = match (s.exists, s.cache) {
            (false, _) => "file missing".to_owned(),
            (true, Some(plugins::Stored::Compiled)) => "compiled (cached)".to_owned(),
            (true, _) => "not compiled yet (`sqlalembic plugins install` compiles it)".to_owned(),
        };
        ctx.printer
            .line(format!("{}  {}", c.name, c.path.display()));
        ctx.printer.line(format!(
            "  world:       {}",
            plugins::world_of(&loaded.settings, c)
        ));
        if plugins::configures_component(&loaded.settings, c) {
            // Loaded by `DB_ENGINE` / `BACKENDS`: no signals, mode or on_error.
            ctx.printer.line(format!(
                "  limits:      {} ms, {} MiB per call",
                c.timeout_ms, c.memory_mb
            ));
        } else {
            ctx.printer
                .line(format!("  signals:     {}", subscriptions(c)));
            ctx.printer.line(format!(
                "  mode:        {}, on_error {}, {} ms, {} MiB",
                mode(c),
                on_error(c),
                c.timeout_ms,
                c.memory_mb
            ));
        }
        ctx.printer
            .line(format!("  allowed:     {}", permissions(c)));
        ctx.printer.line(format!("  cache:       {cache}"));
    }
    Ok(Outcome::with(json!({ "plugins": configs.len() })))
}

fn load_each(configs: &[PluginConfig], root: &Path) -> Result<Plugins, Failure> {
    plugins::load_with(configs, &LoadOptions::for_project(root))
        .map_err(|e| Failure::new(Exit::Usage, e))
}

fn check(
    ctx: &Context<'_>,
    settings: &Settings,
    configs: &[PluginConfig],
) -> Result<Outcome, Failure> {
    let loaded = load_each(configs, &settings.project_root)?;
    let mut results = Vec::new();
    let mut failed = loaded.failures().len();
    for config in configs {
        let plugin = loaded
            .plugins()
            .iter()
            .find(|p| p.config().name == config.name);
        let failure = loaded.failures().iter().find(|f| f.plugin == config.name);
        let error = failure.map(|f| f.error.to_string());
        if !ctx.printer.is_json() {
            match (&error, plugin) {
                (Some(e), _) => ctx.printer.line(format!("{}: error: {e}", config.name)),
                (None, Some(p)) => ctx.printer.line(format!(
                    "{}: ok ({}, {})",
                    config.name,
                    p.inspection.version.as_deref().map_or_else(
                        || plugins::WORLD.to_owned(),
                        |v| format!("sqlalembic:plugin@{v}")
                    ),
                    cache_word(p)
                )),
                (None, None) => {}
            }
        }
        results.push(json!({
            "name": config.name, "world": plugins::WORLD, "ok": error.is_none(), "error": error,
        }));
    }
    // The dialect and discovery components, loaded as the commands that use them do.
    let components = plugins::component_paths(settings);
    for path in &components {
        let (name, world) = component_names(settings, path);
        let (said, error) = match Component::load(settings, path) {
            Ok(component) => (format!("ok ({})", component.summary()), None),
            Err(e) => {
                failed += 1;
                (format!("error: {e}"), Some(e.to_string()))
            }
        };
        if !ctx.printer.is_json() {
            ctx.printer.line(format!("{name}: {said}"));
        }
        results
            .push(json!({ "name": name, "world": world, "ok": error.is_none(), "error": error }));
    }
    if ctx.printer.is_json() {
        ctx.printer
            .json(&json!({ "plugins": results, "failed": failed }));
    } else if configs.is_empty() && components.is_empty() {
        ctx.printer.line("No plugins configured");
    }
    Ok(Outcome {
        exit: if failed > 0 { Exit::Found } else { Exit::Ok },
        summary: json!({ "plugins": results.len(), "failed": failed }),
    })
}

/// A component the configuration loads as its dialect (`DB_ENGINE = "wasm:..."`) or
/// a discovery backend (`BACKENDS = ["wasm:..."]`), not as a signal handler.
enum Component {
    Dialect(plugins::WasmDialect),
    Discovery(plugins::DiscoveryComponent),
}

impl Component {
    /// Loads the component at `path` (one of [`plugins::component_paths`]).
    fn load(settings: &Settings, path: &Path) -> Result<Component, plugins::Error> {
        if is_dialect(settings, path) {
            let dialect = plugins::load_dialect(settings)?;
            Ok(Component::Dialect(
                dialect.expect("DB_ENGINE names a component"),
            ))
        } else {
            let spec = plugins::component_spec(settings, path, plugins::DISCOVERY_LIMITS);
            plugins::DiscoveryComponent::load(&spec)
                .map(Component::Discovery)
                .map_err(|e| e.relative_to(&settings.project_root))
        }
    }

    /// What it is, for `check`: `dialect `pg-online` (postgres), renders table ops`.
    fn summary(&self) -> String {
        match self {
            Component::Dialect(d) => format!(
                "dialect `{}` over the {} protocol, {}, {}",
                crate::dialect::Dialect::name(d),
                crate::dialect::Dialect::backend(d).name(),
                table_ops_words(d),
                cache_state_word(d.cache_state())
            ),
            Component::Discovery(d) => {
                format!("discovery backend, {}", cache_state_word(d.cache_state()))
            }
        }
    }
}

fn is_dialect(settings: &Settings, path: &Path) -> bool {
    matches!(settings.engine(), crate::config::Engine::Wasm(p) if p == path)
}

/// The name (its `[[plugins]]` entry's, else its file stem) and world of a component.
fn component_names(settings: &Settings, path: &Path) -> (String, String) {
    let spec = plugins::component_spec(settings, path, plugins::DISCOVERY_LIMITS);
    let world = if is_dialect(settings, path) {
        "dialect"
    } else {
        "discovery-backend"
    };
    (spec.name, plugins::WORLD.replace("signal-handler", world))
}

/// Whether a dialect renders the table-level ops of `sqlalembic:plugin@0.1.2`.
fn table_ops_words(d: &plugins::WasmDialect) -> String {
    match d.missing_table_ops() {
        None => "renders table ops".to_owned(),
        Some(Some(v)) => format!(
            "built against sqlalembic:plugin@{v}: cannot render alter_table, create_primary_key or drop_primary_key (rebuild it)"
        ),
        Some(None) => "cannot render alter_table, create_primary_key or drop_primary_key (rebuild it against sqlalembic:plugin@0.1.2)".to_owned(),
    }
}

fn cache_state_word(state: &plugins::CacheState) -> String {
    match state {
        plugins::CacheState::Hit => "cached".to_owned(),
        plugins::CacheState::Compiled => "compiled now".to_owned(),
        plugins::CacheState::Rebuilt(why) => format!("cache entry rebuilt: {why}"),
    }
}

/// `plugins inspect` of a dialect or discovery component.
fn inspect_component(
    ctx: &Context<'_>,
    settings: &Settings,
    path: &Path,
) -> Result<Outcome, Failure> {
    let (name, world) = component_names(settings, path);
    let component = Component::load(settings, path)
        .map_err(|e| Failure::usage(format!("Plugin `{name}` did not load: {e}")))?;
    let spec = plugins::component_spec(settings, path, plugins::DISCOVERY_LIMITS);
    let (sha256, mut v) = match &component {
        Component::Dialect(d) => {
            let caps = crate::dialect::Dialect::capabilities(d);
            (
                d.sha256().to_owned(),
                json!({
                    "dialect": crate::dialect::Dialect::name(d),
                    "protocol": crate::dialect::Dialect::backend(d).name(),
                    "capabilities": caps,
                    "table_ops": d.missing_table_ops().is_none(),
                }),
            )
        }
        Component::Discovery(d) => (d.sha256().to_owned(), json!({})),
    };
    v["name"] = json!(name);
    v["path"] = json!(path);
    v["world"] = json!(world);
    v["sha256"] = json!(sha256);
    if ctx.printer.is_json() {
        ctx.printer.json(&v);
        return Ok(Outcome::with(json!({ "name": name })));
    }
    let p = ctx.printer;
    p.line(format!("{name}  {}", path.display()));
    p.line(format!("  world:    {world}"));
    p.line(format!("  sha256:   {sha256}"));
    p.line(format!(
        "  limits:   {} ms, {} MiB per call",
        spec.limits.timeout.as_millis(),
        spec.limits.memory_mb
    ));
    if let Component::Dialect(d) = &component {
        p.line(format!(
            "  dialect:  `{}` over the {} protocol",
            crate::dialect::Dialect::name(d),
            crate::dialect::Dialect::backend(d).name()
        ));
        p.line(format!("  ops:      {}", table_ops_words(d)));
    }
    Ok(Outcome::with(json!({ "name": name })))
}

fn cache_word(plugin: &Plugin) -> String {
    cache_state_word(&plugin.cache_state)
}

fn load_one(config: &PluginConfig, root: &Path) -> Result<(Plugins, f64), Failure> {
    let started = Instant::now();
    let loaded = load_each(std::slice::from_ref(config), root)?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(f) = loaded.failures().first() {
        return Err(Failure::usage(format!(
            "Plugin `{}` did not load: {}",
            f.plugin, f.error
        )));
    }
    Ok((loaded, ms))
}

fn install(ctx: &Context<'_>, config: &PluginConfig, root: &Path) -> Result<Outcome, Failure> {
    let (loaded, ms) = load_one(config, root)?;
    let plugin = &loaded.plugins()[0];
    let summary = json!({
        "name": config.name,
        "sha256": plugin.sha256,
        "cache": plugin.cache_state,
        "ms": (ms * 10.0).round() / 10.0,
    });
    if ctx.printer.is_json() {
        ctx.printer.json(&summary);
    } else {
        ctx.printer.line(format!(
            "Installed `{}` (sha256 {}, {} in {ms:.1} ms)",
            config.name,
            &plugin.sha256[..12],
            cache_word(plugin)
        ));
    }
    Ok(Outcome::with(summary))
}

fn inspect(ctx: &Context<'_>, config: &PluginConfig, root: &Path) -> Result<Outcome, Failure> {
    let (loaded, _) = load_one(config, root)?;
    let plugin = &loaded.plugins()[0];
    let i = &plugin.inspection;
    let mut v = config_json(config);
    v["world"] = json!(plugins::WORLD);
    v["version"] = json!(i.version);
    v["sha256"] = json!(plugin.sha256);
    v["cache"] = json!(plugin.cache_state);
    v["imports"] = json!(i.imports);
    v["exports"] = json!(i.exports);
    if ctx.printer.is_json() {
        ctx.printer.json(&v);
        return Ok(Outcome::with(json!({ "name": config.name })));
    }
    let p = ctx.printer;
    p.line(format!("{}  {}", config.name, config.path.display()));
    p.line(format!(
        "  world:    signal-handler (built for sqlalembic:plugin@{})",
        i.version.as_deref().unwrap_or("?")
    ));
    p.line(format!("  sha256:   {}", plugin.sha256));
    p.line(format!("  cache:    {}", cache_word(plugin)));
    p.line(format!("  signals:  {}", subscriptions(config)));
    p.line(format!(
        "  mode:     {}, on_error {}, {} ms, {} MiB",
        mode(config),
        on_error(config),
        config.timeout_ms,
        config.memory_mb
    ));
    p.line(format!("  allowed:  {}", permissions(config)));
    p.line(format!("  exports:  {}", i.exports.join(", ")));
    p.line("  imports:");
    for import in &i.imports {
        p.line(format!("    {import}"));
    }
    Ok(Outcome::with(json!({ "name": config.name })))
}
