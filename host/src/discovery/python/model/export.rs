//! The unit's drafts as [`UnitOutput`]: positions, foreign-key targets and every
//! table item in the shape the project-wide merge reads.

use super::*;

impl<'p> Builder<'_, 'p> {
    /// A position as file:line:col.
    fn pos(&self, (m, at): Loc) -> Pos {
        let module = &self.ev.project.modules[m];
        let (line, col) = module.parsed().line_col(at);
        Pos {
            file: module.rel.clone(),
            line,
            col,
        }
    }

    fn is_candidate(&self, m: usize) -> bool {
        self.ev.project.modules.get(m).is_some_and(|x| x.candidate)
    }

    /// Builds what foreign keys refer to in other model candidates: a pass over the
    /// whole project builds every candidate's classes and tables, so a unit must too.
    fn build_fk_targets(&mut self) {
        let mut t = 0;
        while t < self.drafts.len() {
            let mut f = 0;
            while f < self.drafts[t].fks.len() {
                let refs: Vec<Rc<ColumnRef<'p>>> = self.drafts[t].fks[f]
                    .targets
                    .iter()
                    .filter_map(|x| match x {
                        Target::Ref(r) => Some(r.clone()),
                        Target::Text(_) => None,
                    })
                    .collect();
                for r in refs {
                    match r.as_ref() {
                        ColumnRef::Attr { class, .. } if self.is_candidate(class.module) => {
                            self.role(*class);
                        }
                        ColumnRef::Table { table, .. } if self.is_candidate(table.site.0) => {
                            self.core_table(table);
                        }
                        _ => {}
                    }
                }
                f += 1;
            }
            t += 1;
        }
    }

    fn export_target(
        &mut self,
        drafts: &[Draft<'p>],
        target: &Target<'p>,
        at: Loc,
    ) -> Option<TargetDraft> {
        let r = match target {
            Target::Text(s) => return Some(TargetDraft::Text(s.clone())),
            Target::Ref(r) => r.clone(),
        };
        let (t, key) = match r.as_ref() {
            ColumnRef::Attr { class, attr } => match self.roles.get(&class.key()) {
                Some(Role::Mapped(_, t)) => (*t, attr.clone()),
                _ => {
                    self.diag(
                        "SA101",
                        at.0,
                        at.1,
                        format!(
                            "Foreign key refers to `{}.{attr}`, which is not a mapped class",
                            class.name()
                        ),
                    )
                    .hints
                    .push(IMPORT_HINT.to_owned());
                    return None;
                }
            },
            ColumnRef::Table { table, column } => match self.core_tables.get(&table_key(table)) {
                Some(&t) => (t, column.clone()),
                None => {
                    self.diag(
                        "SA101",
                        at.0,
                        at.1,
                        "Foreign key refers to a table that was not discovered",
                    );
                    return None;
                }
            },
        };
        Some(TargetDraft::Table {
            source: self.pos(drafts[t].source),
            table: drafts[t].name.clone(),
            key,
        })
    }

    fn export_fk(&mut self, drafts: &[Draft<'p>], fk: &FkDraft<'p>) -> Option<unit::FkDraft> {
        let mut targets = Vec::new();
        for target in &fk.targets {
            targets.push(self.export_target(drafts, target, fk.at)?);
        }
        Some(unit::FkDraft {
            columns: fk.columns.clone(),
            targets,
            name: fk.name.clone(),
            ondelete: fk.ondelete.clone(),
            onupdate: fk.onupdate.clone(),
            deferrable: fk.deferrable,
            initially: fk.initially.clone(),
            at: self.pos(fk.at),
        })
    }

    fn export_column(&self, c: &ColDraft) -> ColumnDraft {
        ColumnDraft {
            key: c.key.clone(),
            column: c.column.clone(),
            type_from_fk: c.type_from_fk,
            explicit_nullable: c.explicit_nullable,
            index: c.index,
            at: self.pos(c.at),
        }
    }

    fn export_index(&self, ix: &IndexDraft) -> unit::IndexDraft {
        unit::IndexDraft {
            name: ix.name.clone(),
            columns: ix
                .columns
                .iter()
                .map(|c| match c {
                    IndexCol::Key(k) => IndexColumn::Key(k.clone()),
                    IndexCol::Expr(e) => IndexColumn::Expr(e.clone()),
                })
                .collect(),
            unique: ix.unique,
            where_: ix.where_.clone(),
            dialects: ix.dialects.clone(),
            at: self.pos(ix.at),
        }
    }

    fn export_named(&self, (name, columns, at): &Named) -> NamedDraft {
        NamedDraft {
            name: name.clone(),
            columns: columns.clone(),
            at: self.pos(*at),
        }
    }

    fn export_check(&self, (name, sqltext, at): &CheckDraft) -> unit::CheckDraft {
        unit::CheckDraft {
            name: name.clone(),
            sqltext: sqltext.clone(),
            at: self.pos(*at),
        }
    }

    /// What module `unit` defines: its own tables (and those of modules that are not
    /// model candidates, which no other unit reports), minus what other candidates add
    /// to them, plus what `unit` adds to tables defined elsewhere.
    pub(super) fn export(mut self, unit: usize) -> UnitOutput {
        self.build_fk_targets();
        let drafts = std::mem::take(&mut self.drafts);
        let contributions = std::mem::take(&mut self.contributions);
        // Per draft, the element indices (columns, fks, checks, indexes) another
        // candidate module adds: that module's unit reports them.
        let mut foreign: Vec<[HashSet<usize>; 4]> =
            drafts.iter().map(|_| Default::default()).collect();
        let mut out = UnitOutput::default();
        for c in &contributions {
            let owner = drafts[c.table].source.0;
            if c.origin == owner || !self.is_candidate(c.origin) {
                continue;
            }
            for (kind, range) in c.ranges.iter().enumerate() {
                foreign[c.table][kind].extend(range.clone());
            }
            if c.origin == unit {
                let d = &drafts[c.table];
                let mut fks = Vec::new();
                for fk in &d.fks[c.ranges[1].clone()] {
                    if let Some(fk) = self.export_fk(&drafts, fk) {
                        fks.push(fk);
                    }
                }
                out.contributions.push(Contribution {
                    target: self.pos(d.source),
                    target_table: d.name.clone(),
                    columns: d.columns[c.ranges[0].clone()]
                        .iter()
                        .map(|x| self.export_column(x))
                        .collect(),
                    fks,
                    checks: d.checks[c.ranges[2].clone()]
                        .iter()
                        .map(|x| self.export_check(x))
                        .collect(),
                    indexes: d.indexes[c.ranges[3].clone()]
                        .iter()
                        .map(|x| self.export_index(x))
                        .collect(),
                });
            }
        }
        for (t, d) in drafts.iter().enumerate() {
            let owner = d.source.0;
            if owner != unit && self.is_candidate(owner) {
                continue;
            }
            let [fc, ff, fch, fi] = &foreign[t];
            let mut fks = Vec::new();
            for (i, fk) in d.fks.iter().enumerate() {
                if !ff.contains(&i)
                    && let Some(fk) = self.export_fk(&drafts, fk)
                {
                    fks.push(fk);
                }
            }
            out.tables.push(TableDraft {
                name: d.name.clone(),
                schema: d.schema.clone(),
                comment: d.comment.clone(),
                convention: d.meta.convention.entries.clone(),
                columns: d
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !fc.contains(i))
                    .map(|(_, x)| self.export_column(x))
                    .collect(),
                fks,
                indexes: d
                    .indexes
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !fi.contains(i))
                    .map(|(_, x)| self.export_index(x))
                    .collect(),
                uniques: d.uniques.iter().map(|x| self.export_named(x)).collect(),
                checks: d
                    .checks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !fch.contains(i))
                    .map(|(_, x)| self.export_check(x))
                    .collect(),
                pk: d.pk.as_ref().map(|x| self.export_named(x)),
                source: self.pos(d.source),
            });
        }
        out.diagnostics = self.diagnostics;
        out
    }
}
