//! Rings of buckets, one per (slice, signal), allocated lazily in pages of
//! [`PAGE`] buckets on the first point that lands there: memory follows the
//! data received, not what a backend declares. Every ring shares the store's
//! time axis, so bucket `b` lives at position `b mod capacity` in each.

/// `total` value that marks a bucket with no data.
pub const MISSING: u32 = u32::MAX;

/// Buckets per page; a page is allocated whole on its first point.
pub const PAGE: usize = 64;

/// Counts of one ratio bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ratio {
    pub good: u64,
    pub total: u64,
}

impl Ratio {
    pub fn new(good: u64, total: u64) -> Self {
        Ratio { good, total }
    }
    /// good / total, or `None` when nothing was counted.
    pub fn rate(self) -> Option<f64> {
        (self.total > 0).then(|| self.good as f64 / self.total as f64)
    }
    pub fn add(&mut self, other: Ratio) {
        self.good += other.good;
        self.total += other.total;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Ratio,
    Gauge,
}

/// One bucket as 8 bytes: a ratio packs `good << 32 | total`, a gauge is the
/// bits of its `f64`.
pub type Cell = u64;

impl CellKind {
    pub fn empty(self) -> Cell {
        match self {
            CellKind::Ratio => u64::from(MISSING),
            CellKind::Gauge => f64::NAN.to_bits(),
        }
    }
    pub fn is_empty(self, c: Cell) -> bool {
        match self {
            CellKind::Ratio => c as u32 == MISSING,
            CellKind::Gauge => f64::from_bits(c).is_nan(),
        }
    }
}

pub fn ratio_cell(good: u32, total: u32) -> Cell {
    (u64::from(good) << 32) | u64::from(total)
}
pub fn cell_ratio(c: Cell) -> (u32, u32) {
    ((c >> 32) as u32, c as u32)
}

type Page = Box<[Cell; PAGE]>;

/// One slice's ring: a table of pages, each allocated on its first point.
#[derive(Debug, Clone)]
pub struct Ring {
    pages: Box<[Option<Page>]>,
}

impl Ring {
    /// The cell at `pos`, if its page exists.
    pub fn get(&self, pos: usize) -> Option<Cell> {
        self.pages.get(pos / PAGE)?.as_ref().map(|p| p[pos % PAGE])
    }

    /// Calls `f(k, cells)` for each stored run of cells at `pos + k..`,
    /// within `pos..pos + len`, skipping pages never written. Whole runs let
    /// a rollup's inner loop zip slices with no bounds check per cell.
    pub fn for_each_run(&self, pos: usize, len: usize, mut f: impl FnMut(usize, &[Cell])) {
        let mut k = 0;
        while k < len {
            let at = pos + k;
            let run = (PAGE - at % PAGE).min(len - k);
            if let Some(Some(page)) = self.pages.get(at / PAGE) {
                f(k, &page[at % PAGE..at % PAGE + run]);
            }
            k += run;
        }
    }
}

/// Bytes one page costs.
pub const PAGE_BYTES: usize = PAGE * size_of::<Cell>();

/// Why a write found no room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

#[derive(Debug, Clone)]
pub struct Column {
    pub kind: CellKind,
    /// Indexed by slice; `None` until the slice's first point.
    rings: Vec<Option<Ring>>,
    bytes: usize,
}

impl Column {
    pub fn new(kind: CellKind) -> Self {
        Column {
            kind,
            rings: Vec::new(),
            bytes: 0,
        }
    }
    pub fn new_ratio() -> Self {
        Self::new(CellKind::Ratio)
    }
    pub fn new_gauge() -> Self {
        Self::new(CellKind::Gauge)
    }

    pub fn ring(&self, slice: usize) -> Option<&Ring> {
        self.rings.get(slice)?.as_ref()
    }

    /// The cell of `slice` at `pos`, or `None` where nothing was stored.
    pub fn get(&self, slice: usize, pos: usize) -> Option<Cell> {
        self.ring(slice)?
            .get(pos)
            .filter(|c| !self.kind.is_empty(*c))
    }

    /// Bytes a write to (`slice`, `pos`) would allocate.
    pub fn cost_of(&self, slice: usize, pos: usize, capacity: usize) -> usize {
        self.index_cost(slice) + self.ring_cost(slice, pos, capacity)
    }

    /// Growth of the per-slice index; it doubles, as Vec does.
    fn index_cost(&self, slice: usize) -> usize {
        let (cap, slot) = (self.rings.capacity(), size_of::<Option<Ring>>());
        if slice >= cap {
            ((slice + 1).max(2 * cap) - cap) * slot
        } else {
            0
        }
    }

    fn ring_cost(&self, slice: usize, pos: usize, capacity: usize) -> usize {
        match self.ring(slice) {
            None => table_bytes(capacity) + PAGE_BYTES,
            Some(r) if r.pages.get(pos / PAGE).is_some_and(|p| p.is_none()) => PAGE_BYTES,
            Some(_) => 0,
        }
    }

    /// Stores `cell`, allocating its ring and page if `room` bytes allow.
    pub fn set(
        &mut self,
        slice: usize,
        pos: usize,
        capacity: usize,
        cell: Cell,
        room: usize,
    ) -> Result<(), OverBudget> {
        if pos >= capacity {
            return Err(OverBudget);
        }
        let ring_cost = self.ring_cost(slice, pos, capacity);
        if self.index_cost(slice) + ring_cost > room {
            return Err(OverBudget);
        }
        if self.rings.len() <= slice {
            if slice >= self.rings.capacity() {
                let want = (slice + 1).max(2 * self.rings.capacity());
                self.rings.reserve_exact(want - self.rings.len());
            }
            self.rings.resize_with(slice + 1, || None);
        }
        let empty = self.kind.empty();
        let ring = self.rings[slice].get_or_insert_with(|| Ring {
            pages: (0..capacity.div_ceil(PAGE)).map(|_| None).collect(),
        });
        let page = ring.pages[pos / PAGE].get_or_insert_with(|| Box::new([empty; PAGE]));
        page[pos % PAGE] = cell;
        self.bytes += ring_cost;
        Ok(())
    }

    /// Empties position `pos` of every ring.
    pub fn clear_position(&mut self, pos: usize) {
        let empty = self.kind.empty();
        for ring in self.rings.iter_mut().flatten() {
            if let Some(Some(page)) = ring.pages.get_mut(pos / PAGE) {
                page[pos % PAGE] = empty;
            }
        }
    }

    /// Drops every ring: the memory goes back with the data.
    pub fn clear_all(&mut self) {
        self.rings = Vec::new();
        self.bytes = 0;
    }

    /// Bytes held per stored bucket.
    pub fn bytes_per_bucket(&self) -> usize {
        size_of::<Cell>()
    }

    /// Bytes of heap the rings hold (pages and page tables; the per-slice
    /// index is counted too).
    pub fn heap_bytes(&self) -> usize {
        self.bytes + self.rings.capacity() * size_of::<Option<Ring>>()
    }
}

/// Bytes of one ring's page table.
pub fn table_bytes(capacity: usize) -> usize {
    capacity.div_ceil(PAGE) * size_of::<Option<Page>>()
}
