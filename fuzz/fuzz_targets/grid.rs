//! Grid files (`--grid`) on arbitrary text: never a panic; a grid that parses has cells, each
//! once, and an error names a line and a column inside the text.
#![no_main]

// Pure and self-contained, compiled here directly like the suite parser.
#[allow(dead_code, clippy::all)]
#[path = "../../runner/src/grid.rs"]
mod grid;

use grid::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse(&text, "fuzz.csv") {
        Ok(g) => {
            let cells = g.cells(&[128]);
            assert!(!cells.is_empty(), "a grid has cells");
            for (i, c) in cells.iter().enumerate() {
                assert!(!cells[..i].contains(c), "each cell once");
            }
        }
        Err(e) => {
            assert!(e.line >= 1 && e.column >= 1);
            // An error may sit at the end of the text, after its last newline.
            assert!(e.line <= text.lines().count() + 1, "{e}");
        }
    }
});
