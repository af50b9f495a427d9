//! A join's result before its rows are built: each table's rows (the columns the query reads of
//! it, [`crate::join`]'s kept columns) and, per joined row, the index of its row in each table
//! ([`NULLS`]: the NULLs an outer join pads a row with). The join steps only move these indexes;
//! the rows are built once, by whoever reads them: all at once ([`Joined::rows`]) or a batch at
//! a time into one buffer that is reused ([`Joined::next_batch`], which a grouped SELECT reads,
//! so its input rows are never allocated one by one).

use crate::error::Result;
use crate::expr::{self, Ctx, Expr};
use crate::memory::Held;
use orbit_engine::table::{Datum, Row};

/// The index of a table's row in a joined row that has NULLs in its place.
pub(crate) const NULLS: usize = usize::MAX;

pub(crate) struct Joined {
    /// Per table, in FROM order, its rows (their kept columns).
    inputs: Vec<Vec<Row>>,
    /// Per table, the columns of a joined row it fills.
    widths: Vec<usize>,
    /// `stride` indexes per joined row.
    tuples: Vec<usize>,
    stride: usize,
    /// Where table `t`'s row index is in a tuple.
    slots: Vec<usize>,
    /// What a built row must pass (the conditions left after the join steps).
    filter: Option<Expr>,
    params: Vec<Datum>,
    /// The next tuple [`Joined::next_batch`] builds.
    next: usize,
    /// The tuples' bytes, charged to the statement while they are held.
    _held: Option<Held>,
}

impl Joined {
    /// `tuples` holds `slots.len()` indexes per joined row, table `t`'s at `slots[t]`.
    pub(crate) fn new(inputs: Vec<Vec<Row>>, widths: Vec<usize>, tuples: Vec<usize>, slots: Vec<usize>) -> Joined {
        let stride = slots.len();
        Joined { inputs, widths, tuples, stride, slots, filter: None, params: vec![], next: 0, _held: None }
    }

    /// Rows already built, of `width` columns.
    pub(crate) fn built(rows: Vec<Row>, width: usize) -> Joined {
        let tuples = (0..rows.len()).collect();
        Joined::new(vec![rows], vec![width], tuples, vec![0])
    }

    /// Only the rows that pass `filter` (over a built row) come out.
    pub(crate) fn filtered(mut self, filter: Option<Expr>, params: &[Datum]) -> Joined {
        if filter.is_some() {
            self.filter = filter;
            self.params = params.to_vec();
        }
        self
    }

    /// Keeps the tuples' memory charged until the rows are read.
    pub(crate) fn holding(mut self, held: Held) -> Joined {
        self._held = Some(held);
        self
    }

    /// The joined rows the steps produced (before the filter).
    pub(crate) fn len(&self) -> usize {
        self.tuples.len() / self.stride.max(1)
    }

    /// The columns of a built row.
    pub(crate) fn width(&self) -> usize {
        self.widths.iter().sum()
    }

    fn build_into(&self, i: usize, out: &mut Vec<Datum>) {
        let tu = &self.tuples[i * self.stride..(i + 1) * self.stride];
        for (t, rows) in self.inputs.iter().enumerate() {
            let w = self.widths[t];
            let start = out.len();
            if let Some(row) = rows.get(tu[self.slots[t]]) {
                out.extend(row.iter().take(w).cloned());
            }
            out.resize(start + w, Datum::Null);
        }
    }

    fn passes(&self, row: &[Datum]) -> Result<bool> {
        match &self.filter {
            None => Ok(true),
            Some(f) => Ok(expr::truth(expr::eval(f, &Ctx { row, params: &self.params, aggs: &[] })?) == Some(true)),
        }
    }

    /// The next rows (at most `max`) that pass the filter, built one after another into `buf`
    /// ([`Joined::width`] values each, `buf` cleared first); 0 when none are left.
    pub(crate) fn next_batch(&mut self, buf: &mut Vec<Datum>, max: usize) -> Result<usize> {
        buf.clear();
        let w = self.width();
        let mut n = 0;
        while n < max && self.next < self.len() {
            let start = buf.len();
            self.build_into(self.next, buf);
            self.next += 1;
            if self.passes(&buf[start..start + w])? {
                n += 1;
            } else {
                buf.truncate(start);
            }
        }
        Ok(n)
    }

    /// All the rows that pass the filter, each charged to `held`.
    pub(crate) fn rows(self, held: &mut Held) -> Result<Vec<Row>> {
        let mut out = Vec::with_capacity(self.len());
        let w = self.width();
        for i in 0..self.len() {
            let mut r = Vec::with_capacity(w);
            self.build_into(i, &mut r);
            if self.passes(&r)? {
                held.row(&r)?;
                out.push(r);
            }
        }
        Ok(out)
    }
}
