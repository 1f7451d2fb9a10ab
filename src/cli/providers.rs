//! `ai-tools providers`: what is configured, which roles use it, and whether it answers.

use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use ai_tools::broker::build;
use ai_tools::config::Config;

use super::args::ProvidersArgs;

/// Lists the providers; exit code 0 when every provider a role uses answers, else 1.
pub async fn run(cfg: &Config, a: &ProvidersArgs) -> Result<i32> {
    let statuses = build::inspect(cfg, &|k| std::env::var(k).ok());
    let chains = build::resolve_roles(cfg, &|k| std::env::var(k).ok());
    let checks = futures::future::join_all(statuses.iter().map(|s| async {
        match (&s.provider, a.no_check) {
            (Err(e), _) => Err(e.to_string()),
            (Ok(_), true) => Ok("not checked".to_owned()),
            (Ok(p), false) => match tokio::time::timeout(Duration::from_secs(a.timeout), p.probe()).await {
                Ok(Ok(msg)) => Ok(msg),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer within {}s", a.timeout)),
            },
        }
    }))
    .await;
    let mut all_ok = true;
    if !a.json {
        for (role, chain) in &chains {
            println!("role {role}: {}", chain.join(" → "));
        }
        println!();
    }
    for (s, check) in statuses.iter().zip(checks) {
        let roles: Vec<String> = s.roles.iter().map(ToString::to_string).collect();
        if check.is_err() && !s.roles.is_empty() {
            all_ok = false;
        }
        let (kind, model, tools) = match &s.provider {
            Ok(p) => (p.kind().to_owned(), p.model().to_owned(), p.capabilities().tools),
            Err(_) => ("?".to_owned(), "?".to_owned(), false),
        };
        if a.json {
            println!(
                "{}",
                json!({"name": s.name, "kind": kind, "model": model, "roles": roles, "tools": tools,
                       "ok": check.is_ok(), "status": check.as_ref().unwrap_or_else(|e| e)})
            );
        } else {
            let mark = if check.is_ok() { "ok " } else { "ERR" };
            let used = if roles.is_empty() { "unused".to_owned() } else { roles.join(",") };
            println!("{mark} {:<12} {kind:<9} {model:<28} [{used}] {}", s.name, check.unwrap_or_else(|e| e));
        }
    }
    Ok(if all_ok { 0 } else { 1 })
}
