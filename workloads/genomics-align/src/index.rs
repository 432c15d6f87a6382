//! The reference and its FM index (`bio`): contigs joined into one text, a suffix array
//! to locate seed hits, BWT, `less` and sampled `occ` tables for backward search.

use bio::alphabets::Alphabet;
use bio::data_structures::bwt::{BWT, Less, Occ, bwt, less};
use bio::data_structures::fmindex::{BackwardSearchResult, FMIndex, FMIndexable};
use bio::data_structures::suffix_array::suffix_array;

use crate::fastx::Contig;

/// Where a contig lies in the joined text.
#[derive(Debug, Clone)]
pub struct ContigSpan {
    /// Its name (SAM `RNAME`).
    pub name: String,
    /// First position in the joined text.
    pub start: usize,
    /// Length in bases.
    pub len: usize,
}

/// An indexed reference.
pub struct Reference {
    /// Contigs in file order.
    pub contigs: Vec<ContigSpan>,
    /// Contigs joined by one `N` (no seed contains `N`, so none spans two), then `$`.
    text: Vec<u8>,
    sa: Vec<usize>,
    bwt: BWT,
    less: Less,
    occ: Occ,
}

/// Every `occ` sample covers this many BWT positions.
const OCC_SAMPLING: u32 = 32;

impl Reference {
    /// Index `contigs` (already normalized to `ACGTN`).
    pub fn new(contigs: Vec<Contig>) -> Self {
        let total: usize = contigs.iter().map(|c| c.seq.len() + 1).sum();
        let mut text = Vec::with_capacity(total + 1);
        let mut spans = Vec::with_capacity(contigs.len());
        for (i, c) in contigs.into_iter().enumerate() {
            if i > 0 {
                text.push(b'N');
            }
            spans.push(ContigSpan {
                name: c.name,
                start: text.len(),
                len: c.seq.len(),
            });
            text.extend_from_slice(&c.seq);
        }
        text.push(b'$');
        let alphabet = Alphabet::new(b"$ACGNT");
        let sa = suffix_array(&text);
        let bwt = bwt(&text, &sa);
        let less = less(&bwt, &alphabet);
        let occ = Occ::new(&bwt, OCC_SAMPLING, &alphabet);
        Reference {
            contigs: spans,
            text,
            sa,
            bwt,
            less,
            occ,
        }
    }

    /// Bases in all contigs.
    pub fn bases(&self) -> usize {
        self.contigs.iter().map(|c| c.len).sum()
    }

    /// Text positions where `pattern` occurs exactly, unless it occurs more than `max`
    /// times (then none: such a seed says nothing about where a read belongs).
    pub fn exact(&self, pattern: &[u8], max: usize) -> &[usize] {
        let fm = FMIndex::new(&self.bwt, &self.less, &self.occ);
        match fm.backward_search(pattern.iter()) {
            BackwardSearchResult::Complete(iv) if iv.upper - iv.lower <= max => {
                &self.sa[iv.lower..iv.upper]
            }
            _ => &[],
        }
    }

    /// The contig holding text position `pos` (which must not be a separator).
    pub fn contig_at(&self, pos: usize) -> usize {
        self.contigs
            .partition_point(|c| c.start <= pos)
            .saturating_sub(1)
    }

    /// Bases `from..to` of the joined text.
    pub fn slice(&self, from: usize, to: usize) -> &[u8] {
        &self.text[from..to]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_exact_occurrence_across_contigs() {
        let r = Reference::new(vec![
            Contig {
                name: "a".into(),
                seq: b"GATTACAGATTACA".to_vec(),
            },
            Contig {
                name: "b".into(),
                seq: b"CCGATTACC".to_vec(),
            },
        ]);
        let mut hits = r.exact(b"GATTAC", 10).to_vec();
        hits.sort();
        assert_eq!(hits, [0, 7, 17]);
        assert_eq!(r.contig_at(17), 1);
        assert_eq!(r.contig_at(13), 0);
        assert_eq!(r.slice(17, 23), b"GATTAC");
        assert!(r.exact(b"GATTAC", 2).is_empty(), "too many hits");
        assert!(r.exact(b"TTTT", 10).is_empty());
        assert_eq!(r.bases(), 23);
    }
}
