//! Weighted least squares by the normal equations (Spark's `WeightedLeastSquares`): one pass
//! over the data sums what the equations need, and the driver solves them.
//!
//! Each task sums, over its rows, the weights, `w·y`, `w·y²`, `w·x`, `w·x·y` and the matrix
//! `w·x·xᵀ` (for dense blocks one matrix product per block, by faer); the sums merge in a tree.
//! The driver then standardizes, as Spark does: features by their population deviation `σⱼ`,
//! the label by its own `σ_y`, centred when an intercept is fitted, and minimizes
//!
//! ```text
//! ½ Σᵢ wᵢ (x̃ᵢ·β̃ - ỹᵢ)² / W  +  (λ/σ_y)·((1-α)/2 · Σⱼ cⱼ β̃ⱼ²  +  α · Σⱼ dⱼ |β̃ⱼ|)
//! ```
//!
//! with `cⱼ = dⱼ = 1` when the penalty applies to standardized features and `cⱼ = 1/σⱼ²`,
//! `dⱼ = 1/σⱼ` when it applies to the original ones. Without an L1 part that is one Cholesky
//! solve of a matrix as wide as the features; with one, or when the matrix is singular (features
//! that are linear combinations of others and no L2 part), the quadratic is minimized by
//! OWL-QN or L-BFGS on the driver, with no further pass over the data. A feature that never
//! varies gets coefficient 0.

use crate::dataset::{BlockFeatures, InstanceBlock};
use crate::optim::lbfgs::Lbfgs;
use crate::{Error, Result};
use ember_core::{Fn, Rdd};
use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use serde::{Deserialize, Serialize};

/// The most features the normal equations take: their matrix travels from every task
/// (Spark's `WeightedLeastSquares.MAX_NUM_FEATURES`).
pub(crate) const MAX_NUM_FEATURES: usize = 4096;

/// The settings of one solve.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WeightedLeastSquares {
    pub(crate) fit_intercept: bool,
    pub(crate) reg_param: f64,
    pub(crate) elastic_net_param: f64,
    /// Whether the penalty applies to standardized features.
    pub(crate) standardize_features: bool,
    /// The iterative solver's limits, when it runs.
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
}

/// What a solve found, on the original scale.
#[derive(Debug, Clone)]
pub(crate) struct LeastSquaresFit {
    pub(crate) coefficients: Vec<f64>,
    pub(crate) intercept: f64,
    /// The iterative solver's objective at each step; `[0.0]` for the Cholesky solve, as in
    /// Spark.
    pub(crate) objective_history: Vec<f64>,
}

/// A task's weighted sums of its rows (Spark's `WeightedLeastSquares.Aggregator`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct NormalSums {
    num_features: usize,
    count: u64,
    w: f64,
    b: f64,
    bb: f64,
    a: Vec<f64>,
    ab: Vec<f64>,
    /// `Σ w·x·xᵀ`, `num_features²` values (symmetric, so either order).
    aa: Vec<f64>,
}

impl NormalSums {
    /// The sums of `blocks`, merged in a tree of `depth` levels.
    ///
    /// # Errors
    /// The job failed; more features than the equations take; no rows.
    pub(crate) fn of(blocks: &Rdd<InstanceBlock>, depth: usize) -> Result<NormalSums> {
        let sums = blocks.tree_aggregate(
            NormalSums::default(),
            Fn!(|s: NormalSums, block: InstanceBlock| s.add(&block)),
            Fn!(|a: NormalSums, b: NormalSums| a.merge(b)),
            depth.max(1),
        )?;
        if sums.count == 0 || sums.w <= 0.0 {
            return Err(Error::Input(
                "the training data has no rows of positive weight; fit on a DataFrame with rows"
                    .into(),
            ));
        }
        Ok(sums)
    }

    fn start(&mut self, num_features: usize) {
        self.num_features = num_features;
        self.a = vec![0.0; num_features];
        self.ab = vec![0.0; num_features];
        self.aa = vec![0.0; num_features * num_features];
    }

    fn add(mut self, block: &InstanceBlock) -> NormalSums {
        let k = block.num_features();
        if self.count == 0 {
            if k > MAX_NUM_FEATURES {
                // Said on the driver before any pass; a block this wide only adds nothing.
                return self;
            }
            self.start(k);
        }
        for i in 0..block.len() {
            let (w, y) = (block.weight(i), block.label(i));
            self.count += 1;
            self.w += w;
            self.b += w * y;
            self.bb += w * y * y;
            block.add_scaled(i, w, &mut self.a);
            block.add_scaled(i, w * y, &mut self.ab);
        }
        match &block.0.features {
            BlockFeatures::Dense(values) => self.add_dense_products(block, values),
            BlockFeatures::Sparse { .. } => {
                let mut row = Vec::new();
                for i in 0..block.len() {
                    let w = block.weight(i);
                    row.clear();
                    block.for_each_active(i, |j, v| row.push((j, v)));
                    for &(j, u) in &row {
                        for &(l, v) in &row {
                            self.aa[j * k + l] += w * u * v;
                        }
                    }
                }
            }
        }
        self
    }

    /// Adds `Xᵀ·diag(w)·X` of a dense block, one matrix product.
    fn add_dense_products(&mut self, block: &InstanceBlock, values: &[f64]) {
        let (m, k) = (block.len(), self.num_features);
        let x = MatRef::from_row_major_slice(values, m, k);
        let weighted = Mat::from_fn(m, k, |i, j| block.weight(i) * x[(i, j)]);
        let aa = MatMut::from_row_major_slice_mut(&mut self.aa, k, k);
        matmul(
            aa,
            Accum::Add,
            x.transpose(),
            weighted.as_ref(),
            1.0,
            Par::Seq,
        );
    }

    fn merge(mut self, other: NormalSums) -> NormalSums {
        if other.count == 0 {
            return self;
        }
        if self.count == 0 {
            return other;
        }
        self.count += other.count;
        self.w += other.w;
        self.b += other.b;
        self.bb += other.bb;
        for (mine, theirs) in [
            (&mut self.a, &other.a),
            (&mut self.ab, &other.ab),
            (&mut self.aa, &other.aa),
        ] {
            for (x, y) in mine.iter_mut().zip(theirs) {
                *x += y;
            }
        }
        self
    }

    /// How many features each row has.
    pub(crate) fn num_features(&self) -> usize {
        self.num_features
    }

    /// The labels' weighted mean and population deviation.
    pub(crate) fn label_mean_and_std(&self) -> (f64, f64) {
        let mean = self.b / self.w;
        (mean, (self.bb / self.w - mean * mean).max(0.0).sqrt())
    }
}

impl WeightedLeastSquares {
    /// Solves the normal equations of `sums`. `label_std` scales the label: its population
    /// deviation, or its mean's size when the label never varies.
    ///
    /// # Errors
    /// The iterative solver's failure.
    pub(crate) fn solve(&self, sums: &NormalSums, label_std: f64) -> Result<LeastSquaresFit> {
        let k = sums.num_features;
        let w = sums.w;
        let (b_bar, _) = sums.label_mean_and_std();
        let a_bar: Vec<f64> = sums.a.iter().map(|v| v / w).collect();
        let a_std: Vec<f64> = (0..k)
            .map(|j| {
                (sums.aa[j * k + j] / w - a_bar[j] * a_bar[j])
                    .max(0.0)
                    .sqrt()
            })
            .collect();
        // Features that never vary take no part: their coefficients are 0.
        let active: Vec<usize> = (0..k).filter(|&j| a_std[j] > 0.0).collect();
        let p = active.len();
        let center = if self.fit_intercept { 1.0 } else { 0.0 };
        let mut gram = vec![0.0; p * p];
        let mut rhs = vec![0.0; p];
        for (r, &j) in active.iter().enumerate() {
            for (c, &l) in active.iter().enumerate() {
                let covariance = sums.aa[j * k + l] / w - center * a_bar[j] * a_bar[l];
                gram[r * p + c] = covariance / (a_std[j] * a_std[l]);
            }
            let covariance = sums.ab[j] / w - center * a_bar[j] * b_bar;
            rhs[r] = covariance / (a_std[j] * label_std);
        }
        let effective = self.reg_param / label_std;
        let (l2, l1) = (
            effective * (1.0 - self.elastic_net_param),
            effective * self.elastic_net_param,
        );
        let mut l1_weights = Vec::with_capacity(p);
        for (r, &j) in active.iter().enumerate() {
            let (c, d) = if self.standardize_features {
                (1.0, 1.0)
            } else {
                (1.0 / (a_std[j] * a_std[j]), 1.0 / a_std[j])
            };
            gram[r * p + r] += l2 * c;
            l1_weights.push(l1 * d);
        }
        let label_square = (sums.bb / w - center * b_bar * b_bar) / (label_std * label_std);
        let quadratic = Quadratic {
            gram,
            rhs,
            constant: label_square / 2.0,
        };
        let (scaled, objective_history) = if l1 > 0.0 {
            self.iterate(&quadratic, &l1_weights)?
        } else {
            match quadratic.cholesky() {
                Some(solution) => (solution, vec![0.0]),
                None => {
                    tracing::warn!(
                        "the normal equations are singular (some features are combinations \
                         of others); solving them iteratively instead"
                    );
                    self.iterate(&quadratic, &[])?
                }
            }
        };
        let mut coefficients = vec![0.0; k];
        for (r, &j) in active.iter().enumerate() {
            coefficients[j] = scaled[r] * label_std / a_std[j];
        }
        let intercept = if self.fit_intercept {
            b_bar
                - coefficients
                    .iter()
                    .zip(&a_bar)
                    .map(|(c, m)| c * m)
                    .sum::<f64>()
        } else {
            0.0
        };
        Ok(LeastSquaresFit {
            coefficients,
            intercept,
            objective_history,
        })
    }

    /// Minimizes the quadratic (plus the L1 penalty `l1`) by L-BFGS or OWL-QN from 0.
    fn iterate(&self, quadratic: &Quadratic, l1: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        let lbfgs = Lbfgs {
            max_iter: self.max_iter,
            tol: self.tol,
            memory: 10,
        };
        let start = vec![0.0; quadratic.rhs.len()];
        let minimum = lbfgs.minimize(|x| Ok(quadratic.at(x)), start, l1)?;
        Ok((minimum.x, minimum.objective_history))
    }
}

/// `½ xᵀ·G·x - rᵀ·x + constant`: the standardized least squares objective with its L2 part.
struct Quadratic {
    gram: Vec<f64>,
    rhs: Vec<f64>,
    constant: f64,
}

impl Quadratic {
    fn at(&self, x: &[f64]) -> (f64, Vec<f64>) {
        let p = x.len();
        let gradient: Vec<f64> = (0..p)
            .map(|r| {
                let row = &self.gram[r * p..(r + 1) * p];
                row.iter().zip(x).map(|(g, v)| g * v).sum::<f64>() - self.rhs[r]
            })
            .collect();
        // ½ xᵀGx - rᵀx = ½ xᵀ(Gx - r) - ½ rᵀx.
        let value = x
            .iter()
            .zip(&gradient)
            .zip(&self.rhs)
            .map(|((v, g), r)| 0.5 * v * g - 0.5 * r * v)
            .sum::<f64>()
            + self.constant;
        (value, gradient)
    }

    /// The solution of `G·x = r` by Cholesky's factorization; `None` when `G` is not
    /// positive definite.
    fn cholesky(&self) -> Option<Vec<f64>> {
        let p = self.rhs.len();
        let gram = MatRef::from_row_major_slice(&self.gram, p, p);
        let factor = gram.llt(Side::Lower).ok()?;
        let rhs = Mat::from_fn(p, 1, |r, _| self.rhs[r]);
        let x = factor.solve(&rhs);
        let solution: Vec<f64> = (0..p).map(|r| x[(r, 0)]).collect();
        solution.iter().all(|v| v.is_finite()).then_some(solution)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quadratic_and_its_cholesky_solution_agree() {
        // G = [[4, 1], [1, 3]], r = [1, 2]: x = [1/11, 7/11].
        let quadratic = Quadratic {
            gram: vec![4.0, 1.0, 1.0, 3.0],
            rhs: vec![1.0, 2.0],
            constant: 0.5,
        };
        let x = quadratic.cholesky().unwrap();
        assert!((x[0] - 1.0 / 11.0).abs() < 1e-12 && (x[1] - 7.0 / 11.0).abs() < 1e-12);
        let (value, gradient) = quadratic.at(&x);
        assert!(gradient.iter().all(|g| g.abs() < 1e-12), "{gradient:?}");
        // ½ xᵀGx - rᵀx + c = -½ rᵀx + c at the solution.
        assert!((value - (0.5 - 0.5 * (1.0 / 11.0 + 14.0 / 11.0))).abs() < 1e-12);
        let singular = Quadratic {
            gram: vec![1.0, 1.0, 1.0, 1.0],
            rhs: vec![1.0, 1.0],
            constant: 0.0,
        };
        assert_eq!(singular.cholesky(), None);
    }
}
