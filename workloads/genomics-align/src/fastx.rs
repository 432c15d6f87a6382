//! FASTA references and FASTQ reads, parsed in place with errors that name the record,
//! its line and byte offset (a reader crate would only say "incomplete record").

use owbench_workload::Error;

/// One sequence of a FASTA file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contig {
    /// The first word of the header.
    pub name: String,
    /// Bases, upper case, anything but `ACGT` turned into `N`.
    pub seq: Vec<u8>,
}

/// Upper-case `b`, mapping anything but `ACGT` to `N`.
pub fn normalize(b: u8) -> u8 {
    match b {
        b'A' | b'a' => b'A',
        b'C' | b'c' => b'C',
        b'G' | b'g' => b'G',
        b'T' | b't' => b'T',
        _ => b'N',
    }
}

/// Lines of `text` with their 1-based numbers and byte offsets, `\r\n` or `\n` ended.
fn lines(text: &[u8]) -> impl Iterator<Item = (usize, usize, &[u8])> {
    let mut offset = 0;
    text.split_inclusive(|&b| b == b'\n')
        .enumerate()
        .map(move |(i, raw)| {
            let at = offset;
            offset += raw.len();
            let line = raw.strip_suffix(b"\n").unwrap_or(raw);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (i + 1, at, line)
        })
}

/// Parse a FASTA file (`what` names it in errors).
pub fn parse_fasta(text: &[u8], what: &str) -> Result<Vec<Contig>, Error> {
    let mut contigs: Vec<Contig> = Vec::new();
    for (line, offset, l) in lines(text) {
        if let Some(header) = l.strip_prefix(b">") {
            let name = header
                .split(|b| b.is_ascii_whitespace())
                .next()
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    Error::Failed(format!(
                        "{what}: line {line} (byte offset {offset}): a FASTA header without a name"
                    ))
                })?;
            contigs.push(Contig {
                name: String::from_utf8_lossy(name).into_owned(),
                seq: Vec::new(),
            });
        } else if !l.is_empty() {
            let contig = contigs.last_mut().ok_or_else(|| {
                Error::Failed(format!(
                    "{what}: line {line} (byte offset {offset}): sequence before the first `>` header; not FASTA"
                ))
            })?;
            if let Some(bad) = l
                .iter()
                .position(|b| !b.is_ascii_alphabetic() && *b != b'*' && *b != b'-')
            {
                return Err(Error::Failed(format!(
                    "{what}: line {line} (byte offset {}): {:?} is not a base",
                    offset + bad,
                    char::from(l[bad])
                )));
            }
            contig.seq.extend(l.iter().map(|&b| normalize(b)));
        }
    }
    if contigs.is_empty() {
        return Err(Error::Failed(format!("{what}: no FASTA record")));
    }
    if let Some(empty) = contigs.iter().find(|c| c.seq.is_empty()) {
        return Err(Error::Failed(format!(
            "{what}: record {} has no sequence",
            empty.name
        )));
    }
    Ok(contigs)
}

/// One FASTQ record, borrowed from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read<'a> {
    /// The first word of the header.
    pub name: &'a [u8],
    /// Bases as given.
    pub seq: &'a [u8],
    /// Phred+33 qualities, one per base.
    pub qual: &'a [u8],
}

/// Parse a FASTQ file (four lines a record; `what` names it in errors).
pub fn parse_fastq<'a>(text: &'a [u8], what: &str) -> Result<Vec<Read<'a>>, Error> {
    let mut reads = Vec::new();
    let mut it = lines(text).filter(|(_, _, l)| !l.is_empty()).peekable();
    while let Some((line, offset, header)) = it.next() {
        let record = reads.len() + 1;
        let at = |line: usize, offset: usize| {
            format!("{what}: record {record} (line {line}, byte offset {offset})")
        };
        let name = header
            .strip_prefix(b"@")
            .ok_or_else(|| {
                Error::Failed(format!(
                    "{}: the header does not start with `@`; not FASTQ",
                    at(line, offset)
                ))
            })?
            .split(|b| b.is_ascii_whitespace())
            .next()
            .unwrap_or_default();
        let mut next = |part: &str| {
            it.next().ok_or_else(|| {
                Error::Failed(format!(
                    "{}: truncated record, the input ends before its {part} line",
                    at(line, offset)
                ))
            })
        };
        let (_, seq_offset, seq) = next("sequence")?;
        let (plus_line, plus_offset, plus) = next("`+`")?;
        let (qual_line, qual_offset, qual) = next("quality")?;
        if let Some(bad) = seq
            .iter()
            .position(|b| !b.is_ascii_alphabetic() && *b != b'.')
        {
            return Err(Error::Failed(format!(
                "{}: {:?} at byte offset {} is not a base",
                at(line, offset),
                char::from(seq[bad]),
                seq_offset + bad
            )));
        }
        if !plus.starts_with(b"+") {
            return Err(Error::Failed(format!(
                "{}: expected the `+` line, found {:?}",
                at(plus_line, plus_offset),
                String::from_utf8_lossy(&plus[..plus.len().min(40)])
            )));
        }
        if qual.len() != seq.len() {
            return Err(Error::Failed(format!(
                "{}: bad quality line, {} qualities for {} bases",
                at(qual_line, qual_offset),
                qual.len(),
                seq.len()
            )));
        }
        if let Some(bad) = qual.iter().position(|q| !(b'!'..=b'~').contains(q)) {
            return Err(Error::Failed(format!(
                "{}: bad quality line, byte {:#04x} at byte offset {} is not a Phred+33 quality",
                at(qual_line, qual_offset),
                qual[bad],
                qual_offset + bad
            )));
        }
        reads.push(Read { name, seq, qual });
    }
    Ok(reads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fasta_is_normalized_and_split_by_record() {
        let c = parse_fasta(b">chr1 first\nACgtn\nRAC\r\n>chr2\nTT\n", "ref").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].name, "chr1");
        assert_eq!(c[0].seq, b"ACGTNNAC");
        assert_eq!(c[1].seq, b"TT");
        let e = parse_fasta(b"ACGT\n", "ref").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("not FASTA"), "{e}");
        let e = parse_fasta(b">a\nAC1T\n", "ref").unwrap_err().to_string();
        assert!(e.contains("byte offset 5") && e.contains("'1'"), "{e}");
    }

    #[test]
    fn fastq_records_and_their_faults() {
        let ok = b"@r1 x\nACGT\n+\nIIII\n@r2\nGG\n+r2\n#I\n";
        let r = parse_fastq(ok, "reads").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[1].name, r[1].seq, r[1].qual),
            (&b"r2"[..], &b"GG"[..], &b"#I"[..])
        );

        let truncated = b"@r1\nACGT\n+\nIIII\n@r2\nGG\n";
        let e = parse_fastq(truncated, "reads").unwrap_err().to_string();
        assert!(
            e.contains("record 2 (line 5, byte offset 16)") && e.contains("truncated"),
            "{e}"
        );

        let short_qual = b"@r1\nACGT\n+\nIII\n";
        let e = parse_fastq(short_qual, "reads").unwrap_err().to_string();
        assert!(
            e.contains("record 1 (line 4, byte offset 11)")
                && e.contains("3 qualities for 4 bases"),
            "{e}"
        );

        let bad_char = b"@r1\nACGT\n+\nII\x07I\n";
        let e = parse_fastq(bad_char, "reads").unwrap_err().to_string();
        assert!(e.contains("byte offset 13") && e.contains("Phred"), "{e}");

        let e = parse_fastq(b">r1\nACGT\n", "reads")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not FASTQ"), "{e}");
    }
}
