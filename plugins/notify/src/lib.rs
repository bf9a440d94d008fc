//! `notify`: posts a JSON message about each signal to a webhook, over standard
//! `wasi:http` (the SDK's `http::post_json`; the component imports
//! `wasi:http/outgoing-handler`, not the host's own `http` interface).
//!
//! The URL comes from the `url` setting, or from the environment variable the
//! `url_env` setting names (default `SQLALEMBIC_WEBHOOK_URL`); its host must be in
//! the plugin's `allow.http` (and the variable in `allow.env`): any other host is
//! refused by the host before anything is sent. Body:
//! `{"text": "<project>: <command> <outcome>", "signal", "command", "payload"}`.
//! A webhook that fails or answers with a non-2xx status makes this call fail.
//!
//! ```toml
//! [[plugins]]
//! name = "notify"
//! path = "plugins/notify.wasm"
//! signals = ["command_finished", "command_failed"]
//! allow = { http = ["hooks.example.com"], env = ["SQLALEMBIC_WEBHOOK_URL"] }
//! ```

use sqlalembic_plugin::{Handler, Signal, Verdict, http, serde_json, settings};

struct Notify;

impl Handler for Notify {
    fn handle(signal: Signal) -> Result<Verdict, String> {
        let url = match settings::string("url") {
            Some(url) => url,
            None => {
                let var = settings::string("url_env")
                    .unwrap_or_else(|| "SQLALEMBIC_WEBHOOK_URL".to_owned());
                std::env::var(&var)
                    .map_err(|_| format!("No webhook: set the `url` setting or `{var}`"))?
            }
        };
        let payload = signal.payload();
        let project = payload["project"].as_str().unwrap_or("sqlalembic");
        let outcome = match signal.name.as_str() {
            "command_finished" => "finished".to_owned(),
            "command_failed" => format!(
                "failed: {}",
                payload["error"].as_str().unwrap_or("unknown error")
            ),
            other => other.to_owned(),
        };
        let body = serde_json::json!({
            "text": format!("{project}: `{}` {outcome}", signal.command),
            "signal": signal.name,
            "command": signal.command,
            "payload": payload,
        });
        let response = http::post_json(&url, &body)?;
        if !(200..300).contains(&response.status) {
            return Err(format!("Webhook answered HTTP {}", response.status));
        }
        Ok(Verdict::Proceed)
    }
}

sqlalembic_plugin::export_handler!(Notify);
