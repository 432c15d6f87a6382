//! Aligned plain-text tables for the CLI's listings: no borders, never wrapped to the
//! terminal (output is often piped), each column as wide as its widest cell.

use comfy_table::presets::NOTHING;
use comfy_table::{CellAlignment, ContentArrangement, Table};

/// A borderless table with `header`; the columns whose indices are in `right` (numbers)
/// are right-aligned.
pub fn new(header: &[&str], right: &[usize]) -> Table {
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, 2));
        if right.contains(&i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// Print `table` on stdout, without trailing spaces.
pub fn print(table: &Table) {
    for line in table.lines() {
        println!("{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let mut t = super::new(&["id", "nodes", "status"], &[1]);
        t.add_row(vec!["ocid1.instance.oc1.phx.aaaa", "3", "up"]);
        t.add_row(vec!["x", "12", "failed"]);
        let lines: Vec<String> = t.lines().map(|l| l.trim_end().to_owned()).collect();
        assert_eq!(
            lines,
            [
                "id                           nodes  status",
                "ocid1.instance.oc1.phx.aaaa      3  up",
                "x                               12  failed",
            ]
        );
    }
}
