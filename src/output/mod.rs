//! Exporters: each turns results into bytes (so that byte-identity and golden tests are
//! trivial); [`write_atomic`] is the only function here that touches the file system.

pub mod csv;
pub mod json;
pub mod table;

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `dir/name` atomically: a temporary file in the same folder, flushed
/// and synced, then renamed over the final name. A reader never sees a half-written file
/// under the final name, even if the process is killed.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
