//! Drawings of the revision graph: an ASCII DAG for `history --graph` (like
//! `git log --graph`), Mermaid and DOT for `graph`.

use serde_json::json;

use super::project::Project;
use super::revisions::{graph_failure, revision_line};
use crate::cli::{Context, Failure, Format, Outcome};
use crate::revision::ScriptDir;
use crate::revision::graph::RevSpec;

/// Lines of an ASCII drawing of `ids` (children first), one lane per open branch.
pub fn ascii(scripts: &ScriptDir, ids: &[String], current: &[String]) -> Vec<String> {
    let listed: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut lanes: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for id in ids {
        let waiting: Vec<usize> = lanes
            .iter()
            .enumerate()
            .filter(|(_, l)| *l == id)
            .map(|(i, _)| i)
            .collect();
        let col = match waiting.first() {
            Some(&c) => c,
            None => {
                lanes.push(id.clone());
                lanes.len() - 1
            }
        };
        let row: Vec<&str> = (0..lanes.len())
            .map(|i| if i == col { "*" } else { "|" })
            .collect();
        out.push(format!(
            "{}  {}",
            row.join(" "),
            revision_line(scripts, id, false, current)
        ));
        // Several children waited for this revision: their lanes join here.
        if waiting.len() > 1 {
            let marks: Vec<&str> = (0..lanes.len())
                .map(|i| if waiting[1..].contains(&i) { "/" } else { "|" })
                .collect();
            out.push(marks.join(" "));
            for &p in waiting[1..].iter().rev() {
                lanes.remove(p);
            }
        }
        let parents: Vec<String> = scripts
            .file(id)
            .map(|f| f.down_revisions.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|p| listed.contains(p.as_str()))
            .collect();
        match parents.split_first() {
            None => {
                lanes.remove(col);
            }
            Some((first, rest)) => {
                lanes[col] = first.clone();
                for (k, p) in rest.iter().enumerate() {
                    lanes.insert(col + 1 + k, p.clone());
                }
                if !rest.is_empty() {
                    let mut marks: Vec<&str> = vec!["|"; col + 1];
                    marks.extend(std::iter::repeat_n("\\", rest.len()));
                    marks.extend(std::iter::repeat_n("|", lanes.len() - col - 1 - rest.len()));
                    out.push(marks.join(" "));
                }
            }
        }
    }
    out
}

fn all_ids(scripts: &ScriptDir) -> Result<Vec<String>, Failure> {
    if scripts.is_empty() {
        return Ok(Vec::new());
    }
    Ok(scripts
        .graph
        .walk_revisions(&RevSpec::None, &RevSpec::One("heads".to_owned()))
        .map_err(graph_failure)?
        .into_iter()
        .map(str::to_owned)
        .collect())
}

fn label(scripts: &ScriptDir, id: &str) -> String {
    let msg = scripts
        .file(id)
        .and_then(|f| f.message.clone())
        .unwrap_or_default();
    let msg: String = msg
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '[' | ']'))
        .collect();
    if msg.is_empty() {
        id.to_owned()
    } else {
        format!("{id}\\n{msg}")
    }
}

/// Mermaid flowchart: parents above children, `depends_on` dashed.
pub fn mermaid(scripts: &ScriptDir, ids: &[String]) -> String {
    let mut s = String::from("flowchart BT\n");
    for id in ids.iter().rev() {
        s.push_str(&format!(
            "    r{id}[\"{}\"]\n",
            label(scripts, id).replace("\\n", "<br/>")
        ));
    }
    for id in ids.iter().rev() {
        if let Some(f) = scripts.file(id) {
            for p in &f.down_revisions {
                s.push_str(&format!("    r{p} --> r{id}\n"));
            }
            for d in &f.depends_on {
                if let Some(dep) = scripts.graph.get(d).map(|n| n.id.clone()) {
                    s.push_str(&format!("    r{dep} -.-> r{id}\n"));
                }
            }
        }
    }
    s
}

/// Graphviz DOT: parents above children, `depends_on` dashed, heads bold.
pub fn dot(scripts: &ScriptDir, ids: &[String]) -> String {
    let heads = scripts.graph.heads();
    let mut s = String::from("digraph revisions {\n    rankdir=BT;\n    node [shape=box];\n");
    for id in ids.iter().rev() {
        let style = if heads.contains(&id.as_str()) {
            ", style=bold"
        } else {
            ""
        };
        s.push_str(&format!(
            "    \"{id}\" [label=\"{}\"{style}];\n",
            label(scripts, id)
        ));
    }
    for id in ids.iter().rev() {
        if let Some(f) = scripts.file(id) {
            for p in &f.down_revisions {
                s.push_str(&format!("    \"{p}\" -> \"{id}\";\n"));
            }
            for d in &f.depends_on {
                if let Some(dep) = scripts.graph.get(d).map(|n| n.id.clone()) {
                    s.push_str(&format!("    \"{dep}\" -> \"{id}\" [style=dashed];\n"));
                }
            }
        }
    }
    s.push_str("}\n");
    s
}

/// `graph --format mermaid|dot` (text means mermaid; json lists nodes and edges).
pub fn run(ctx: &Context<'_>) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let scripts = &project.scripts;
    let ids = all_ids(scripts)?;
    match ctx.global.format {
        Some(Format::Dot) => ctx.printer.line(dot(scripts, &ids).trim_end()),
        Some(Format::Json) => {
            let edges: Vec<serde_json::Value> = ids
                .iter()
                .filter_map(|id| scripts.file(id))
                .flat_map(|f| {
                    f.down_revisions
                        .iter()
                        .map(|p| json!({ "from": p, "to": f.revision, "kind": "down_revision" }))
                        .chain(
                            f.depends_on.iter().map(
                                |d| json!({ "from": d, "to": f.revision, "kind": "depends_on" }),
                            ),
                        )
                        .collect::<Vec<_>>()
                })
                .collect();
            ctx.printer.json(&json!({ "nodes": ids, "edges": edges }));
        }
        _ => ctx.printer.line(mermaid(scripts, &ids).trim_end()),
    }
    Ok(Outcome::with(json!({ "revisions": ids.len() })))
}
