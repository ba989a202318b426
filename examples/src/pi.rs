//! Pi: estimates pi by sampling points in the unit square (Spark's `SparkPi`).
//!
//! ```text
//! ember submit --master 'local[2]' pi [slices]
//! ```

use crate::ExampleError;
use ember::{Context, Fn};

/// Runs the estimate with the optional argument `[slices]` (default 2); returns the estimate.
///
/// # Errors
/// A `slices` that is not a positive number, or a failed job.
pub fn run(ctx: &Context, args: &[String]) -> Result<f64, ExampleError> {
    let slices: usize = match args {
        [] => 2,
        [n] => n
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| ExampleError::Usage("pi [slices: a positive number]".into()))?,
        _ => return Err(ExampleError::Usage("pi [slices]".into())),
    };
    let n = 100_000 * slices as i64;
    let inside = ctx
        .range(0, n, 1, slices)?
        .map(Fn!(|i: i64| {
            // A fixed hash of i stands in for a random point, so runs are repeatable.
            let h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let x = (h >> 32) as f64 / u32::MAX as f64 * 2.0 - 1.0;
            let y = (h & 0xffff_ffff) as f64 / u32::MAX as f64 * 2.0 - 1.0;
            u64::from(x * x + y * y <= 1.0)
        }))
        .reduce(Fn!(|a: u64, b: u64| a + b))?;
    Ok(4.0 * inside as f64 / n as f64)
}
