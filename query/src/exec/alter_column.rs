//! `ALTER TABLE ... ALTER COLUMN` (SET/DROP DEFAULT, SET/DROP NOT NULL, ADD GENERATED AS
//! IDENTITY) and `ALTER SEQUENCE` (OWNED BY, RESTART) as they run (bound in
//! `bind/alter_column.rs` and `bind/alter_sequence.rs`).
//!
//! An ALTER COLUMN rewrites the table under its new definition as ALTER TABLE's other actions
//! do ([`super::utility::rewrite_columns`]: writers held off, staging table and swap, the old
//! definition and rows kept for ROLLBACK in a block). SET NOT NULL first checks the rows the
//! transaction sees (23502); ADD GENERATED first creates the identity's sequence (owned by the
//! table; noted in the block as CREATE SEQUENCE is, so ROLLBACK and a crash drop it).
//!
//! ALTER SEQUENCE changes the sequence's row on its shard. In a block ROLLBACK puts back the
//! owner OWNED BY replaced, and the row RESTART / INCREMENT / MINVALUE / ... replaced (as
//! PostgreSQL's rewrite of the sequence is undone with its transaction); a crash before COMMIT
//! undoes both (the row is journaled as DROP SEQUENCE's is, the old owner as a RENAME's old
//! name is).

use super::undo::{self, Created};
use super::utility::{committed_rows, holder, release_unless_held, rewrite_columns, set_altering, visible};
use super::{notice, QueryResult};
use crate::bind::{AlterColumn, AlterSequence, ColumnChange};
use crate::error::{code, Result, SqlError};
use crate::txn::Txn;

pub(super) async fn alter_column(txn: &mut Txn, ac: &AlterColumn) -> Result<QueryResult> {
    if let Some((seq, written)) = &ac.default_sequence {
        if !crate::sequence::exists_for(seq, txn.id).await? {
            return Err(SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{written}\" does not exist")));
        }
    }
    if let Some(seq) = &ac.sequence {
        crate::sequence::create(seq, false, holder(txn)).await?;
        undo::keep(txn, vec![Created::Sequence { name: seq.name.clone() }])?;
    }
    let r = rewrite(txn, ac).await;
    if let (Err(_), Some(seq), true) = (&r, &ac.sequence, txn.alone) {
        // Nothing keeps the new sequence for an undo: it goes now.
        let _ = crate::sequence::drop(std::slice::from_ref(&seq.name)).await;
    }
    r
}

async fn rewrite(txn: &mut Txn, ac: &AlterColumn) -> Result<QueryResult> {
    let table = &ac.table;
    if let Some(i) = ac.check_not_null {
        // Held first, so no row can arrive between the check and the rewrite.
        set_altering(table, true, txn).await?;
        let nulls = async {
            let rows = committed_rows(txn, table).await?;
            let own = txn.overlay_rows(table);
            let any = visible(&rows, &own).any(|r| r.get(i).is_none_or(|d| d.is_null()));
            Ok::<_, SqlError>(any)
        }
        .await;
        if !matches!(nulls, Ok(false)) {
            release_unless_held(txn, table).await;
            nulls?;
            return Err(SqlError::new(
                code::NOT_NULL_VIOLATION,
                format!(
                    "column \"{}\" of relation \"{}\" contains null values",
                    table.columns[i].name,
                    crate::schema::relname(&table.name)
                ),
            )
            .on_table(&table.name)
            .on_column(&table.columns[i].name));
        }
    }
    if let Some(rt) = &ac.retype {
        return super::alter_type::retype(txn, ac, rt).await;
    }
    let (r, kept) = rewrite_columns(txn, table, &ac.def, &ColumnChange::Rename).await?;
    undo::keep(txn, kept)?;
    Ok(r)
}

pub(super) async fn alter_sequence(txn: &mut Txn, a: &AlterSequence) -> Result<QueryResult> {
    let mut r = QueryResult { tag: "ALTER SEQUENCE".into(), ..Default::default() };
    if !crate::sequence::exists_for(&a.name, txn.id).await? {
        let msg = format!("relation \"{}\" does not exist", crate::schema::relname(&a.name));
        if a.if_exists {
            r.notices.push(notice("00000", format!("{msg}, skipping")));
            return Ok(r);
        }
        return Err(SqlError::new(code::UNDEFINED_TABLE, msg));
    }
    if a.restart.is_some() || !a.options.is_empty() {
        let row = crate::sequence::alter(&a.name, a.options.clone(), a.restart, Some(txn.id)).await?;
        undo::keep(txn, vec![Created::DroppedSequence { row }])?;
    }
    if let Some(owner) = &a.owned_by {
        let old = crate::sequence::set_owned_by(&a.name, owner.clone(), Some(txn.id)).await?;
        undo::keep(txn, vec![Created::SequenceOwner { name: a.name.clone(), owned_by: old }])?;
    }
    Ok(r)
}
