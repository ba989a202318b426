//! L-BFGS with a strong Wolfe line search, stopping as Spark's optimizer (Breeze's `LBFGS`
//! with `FirstOrderMinimizer`'s default convergence check) stops; and its orthant-wise variant
//! for L1 penalties (OWL-QN, Andrew and Gao 2007; Breeze's `OWLQN`).
//!
//! Written here rather than taken from a crate because each evaluation of the objective is a
//! job over the whole training set: the minimizer must ask for the value and the gradient
//! together, once per point (argmin, the maintained Rust optimizer, asks for them apart, which
//! would double the passes), and its stopping rule must be Spark's so that the same
//! `maxIter` and `tol` give the same model.
//!
//! Stopping, checked before each step:
//! 1. `maxIter` steps taken;
//! 2. the objective moved no more than `tol × |f₀|` from the largest of its last 20 values;
//! 3. the gradient's norm is at most `max(tol × |f|, 1e-8)`;
//! 4. the line search found no step that lowers the objective.
//!
//! With an L1 penalty `Σⱼ lⱼ·|xⱼ|` the objective has no gradient where a coordinate is 0, so
//! OWL-QN steers by the pseudo-gradient (the one-sided derivative that points downhill, 0
//! where neither side does), keeps each step inside the orthant it starts in (a coordinate
//! that would cross 0 stops at 0, which is how coefficients become exactly 0), and backtracks
//! until the penalized objective falls enough. The stopping rules then read the penalized
//! value and the pseudo-gradient.

use crate::Result;
use std::collections::VecDeque;

/// How many past values the function-value test looks back over (Breeze's `fvalMemory`).
const VALUE_MEMORY: usize = 20;
/// Sufficient decrease (Armijo) and curvature constants of the strong Wolfe conditions.
const C1: f64 = 1e-4;
const C2: f64 = 0.9;
/// Trial steps before and inside zooming (Breeze's `maxLineSearchIter`, `maxZoomIter`).
const MAX_LINE_SEARCH_STEPS: usize = 10;
const MAX_ZOOM_STEPS: usize = 10;
/// Trial steps of OWL-QN's backtracking search (Breeze's `BacktrackingLineSearch`).
const MAX_BACKTRACKS: usize = 20;

/// Why the minimizer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    MaxIterations,
    FunctionValuesConverged,
    GradientConverged,
    LineSearchFailed,
}

/// Where the minimizer stopped.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub(crate) x: Vec<f64>,
    /// The objective at the start and after each step (Spark's `objectiveHistory`).
    pub(crate) objective_history: Vec<f64>,
    pub(crate) stop: Stop,
}

/// The limited-memory BFGS minimizer (Spark's `LBFGS` of Breeze).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lbfgs {
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
    /// How many corrections approximate the inverse Hessian (Spark uses 10).
    pub(crate) memory: usize,
}

/// A point's objective value and gradient.
#[derive(Clone)]
struct Point {
    value: f64,
    gradient: Vec<f64>,
}

impl Lbfgs {
    /// Minimizes `f(x) + Σⱼ l1[j]·|xⱼ|` from `x0`, `f` giving the value and gradient at a
    /// point: by OWL-QN, or by plain L-BFGS when `l1` is empty or all 0. The objective history
    /// holds the penalized values.
    ///
    /// # Errors
    /// An error of `f`, as it came.
    pub(crate) fn minimize<F>(&self, mut f: F, x0: Vec<f64>, l1: &[f64]) -> Result<Minimum>
    where
        F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
    {
        let penalty = L1 {
            weights: if l1.iter().any(|&w| w > 0.0) { l1 } else { &[] },
        };
        let mut x = x0;
        let mut at = evaluate(&mut f, &x)?;
        let mut adjusted = penalty.adjust(&x, &at);
        let initial = adjusted.value;
        let mut history = vec![adjusted.value];
        let mut recent = VecDeque::from([adjusted.value]);
        let mut corrections: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();
        let mut iterations = 0;
        let stop = loop {
            if let Some(stop) = self.converged(iterations, &adjusted, initial, &recent) {
                break stop;
            }
            let mut direction = two_loop(&adjusted.gradient, &corrections);
            penalty.keep_downhill(&mut direction, &adjusted.gradient);
            if dot(&adjusted.gradient, &direction) >= 0.0 {
                // Not a descent direction: forget the curvature and go down the gradient.
                corrections.clear();
                direction = adjusted.gradient.iter().map(|g| -g).collect();
            }
            let first = if iterations == 0 {
                1.0 / norm(&direction)
            } else {
                1.0
            };
            let next = if penalty.weights.is_empty() {
                line_search(&mut f, &x, &at, &direction, first)?
                    .map(|(step, point)| (along(&x, step, &direction), point))
            } else {
                let shrink = if iterations == 0 { 0.1 } else { 0.5 };
                let search = OrthantSearch {
                    penalty: &penalty,
                    x: &x,
                    at: &adjusted,
                    direction: &direction,
                };
                search.run(&mut f, first, shrink)?
            };
            let Some((next_x, next)) = next else {
                break Stop::LineSearchFailed;
            };
            let s: Vec<f64> = next_x.iter().zip(&x).map(|(a, b)| a - b).collect();
            let y: Vec<f64> = next
                .gradient
                .iter()
                .zip(&at.gradient)
                .map(|(a, b)| a - b)
                .collect();
            let sy = dot(&s, &y);
            if sy > 1e-10 {
                corrections.push_back((s, y, 1.0 / sy));
                if corrections.len() > self.memory {
                    corrections.pop_front();
                }
            }
            x = next_x;
            at = next;
            adjusted = penalty.adjust(&x, &at);
            iterations += 1;
            history.push(adjusted.value);
            recent.push_back(adjusted.value);
            if recent.len() > VALUE_MEMORY {
                recent.pop_front();
            }
        };
        Ok(Minimum {
            x,
            objective_history: history,
            stop,
        })
    }

    fn converged(
        &self,
        iterations: usize,
        at: &Point,
        initial: f64,
        recent: &VecDeque<f64>,
    ) -> Option<Stop> {
        let largest = recent.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if iterations >= self.max_iter {
            Some(Stop::MaxIterations)
        } else if recent.len() >= 2 && (at.value - largest).abs() <= self.tol * initial.abs() {
            Some(Stop::FunctionValuesConverged)
        } else if norm(&at.gradient) <= (self.tol * at.value.abs()).max(1e-8) {
            Some(Stop::GradientConverged)
        } else {
            None
        }
    }
}

/// An L1 penalty `Σⱼ weights[j]·|xⱼ|`; none when `weights` is empty.
struct L1<'a> {
    weights: &'a [f64],
}

impl L1<'_> {
    fn value(&self, x: &[f64]) -> f64 {
        self.weights.iter().zip(x).map(|(w, v)| w * v.abs()).sum()
    }

    /// The penalized objective at `x` and its pseudo-gradient, from the smooth part `at`.
    fn adjust(&self, x: &[f64], at: &Point) -> Point {
        if self.weights.is_empty() {
            return at.clone();
        }
        let gradient = at
            .gradient
            .iter()
            .zip(x)
            .zip(self.weights)
            .map(|((&g, &v), &w)| match v.partial_cmp(&0.0) {
                _ if w == 0.0 => g,
                Some(std::cmp::Ordering::Less) => g - w,
                Some(std::cmp::Ordering::Greater) => g + w,
                // At 0: the side that goes down, if either does.
                _ if g + w < 0.0 => g + w,
                _ if g - w > 0.0 => g - w,
                _ => 0.0,
            })
            .collect();
        Point {
            value: at.value + self.value(x),
            gradient,
        }
    }

    /// Zeroes the coordinates of `direction` that do not go against the pseudo-gradient.
    fn keep_downhill(&self, direction: &mut [f64], pseudo_gradient: &[f64]) {
        if self.weights.is_empty() {
            return;
        }
        for (d, g) in direction.iter_mut().zip(pseudo_gradient) {
            if *d * g >= 0.0 {
                *d = 0.0;
            }
        }
    }
}

/// OWL-QN's backtracking search from `x` (where the penalized objective and pseudo-gradient
/// are `at`) along `direction`, each trial point projected on the starting orthant.
struct OrthantSearch<'a> {
    penalty: &'a L1<'a>,
    x: &'a [f64],
    at: &'a Point,
    direction: &'a [f64],
}

impl OrthantSearch<'_> {
    /// The first trial point (step `first`, then shrunk by `shrink`) whose penalized value
    /// falls enough, and the smooth part there; `None` when no trial does.
    fn run<F>(&self, f: &mut F, first: f64, shrink: f64) -> Result<Option<(Vec<f64>, Point)>>
    where
        F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
    {
        // Each penalized coordinate keeps its sign, or the sign it would take going downhill.
        let orthant: Vec<f64> = self
            .x
            .iter()
            .zip(&self.at.gradient)
            .map(|(&v, &g)| if v != 0.0 { v.signum() } else { -g.signum() })
            .collect();
        let mut step = first;
        for _ in 0..MAX_BACKTRACKS {
            let mut candidate = along(self.x, step, self.direction);
            for ((c, o), &w) in candidate.iter_mut().zip(&orthant).zip(self.penalty.weights) {
                if w > 0.0 && *c * o <= 0.0 {
                    *c = 0.0;
                }
            }
            let point = evaluate(f, &candidate)?;
            let value = point.value + self.penalty.value(&candidate);
            let moved: Vec<f64> = candidate.iter().zip(self.x).map(|(a, b)| a - b).collect();
            if value.is_finite() && value <= self.at.value + C1 * dot(&self.at.gradient, &moved) {
                return Ok(Some((candidate, point)));
            }
            step *= shrink;
        }
        Ok(None)
    }
}

/// `x + step · direction`.
fn along(x: &[f64], step: f64, direction: &[f64]) -> Vec<f64> {
    x.iter().zip(direction).map(|(v, d)| v + step * d).collect()
}

fn evaluate<F>(f: &mut F, x: &[f64]) -> Result<Point>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    let (value, gradient) = f(x)?;
    Ok(Point { value, gradient })
}

/// The quasi-Newton direction `-H·g` from the stored corrections (Nocedal and Wright,
/// algorithm 7.4), scaled by the latest correction's curvature.
fn two_loop(gradient: &[f64], corrections: &VecDeque<(Vec<f64>, Vec<f64>, f64)>) -> Vec<f64> {
    let mut q = gradient.to_vec();
    let mut alphas = Vec::with_capacity(corrections.len());
    for (s, y, rho) in corrections.iter().rev() {
        let a = rho * dot(s, &q);
        axpy(-a, y, &mut q);
        alphas.push(a);
    }
    let gamma = corrections
        .back()
        .map_or(1.0, |(s, y, _)| dot(s, y) / dot(y, y));
    for v in &mut q {
        *v *= gamma;
    }
    for ((s, y, rho), a) in corrections.iter().zip(alphas.iter().rev()) {
        let b = rho * dot(y, &q);
        axpy(a - b, s, &mut q);
    }
    q.iter().map(|v| -v).collect()
}

/// A step along `direction` meeting the strong Wolfe conditions (Nocedal and Wright,
/// algorithms 3.5 and 3.6), or, failing that, the best step that lowered the objective.
fn line_search<F>(
    f: &mut F,
    x: &[f64],
    at: &Point,
    direction: &[f64],
    first: f64,
) -> Result<Option<(f64, Point)>>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    let slope0 = dot(&at.gradient, direction);
    let mut trial = |step: f64| -> Result<Trial> {
        let p = evaluate(f, &along(x, step, direction))?;
        Ok(Trial {
            step,
            slope: dot(&p.gradient, direction),
            point: p,
        })
    };
    let armijo = |t: &Trial| t.point.value <= at.value + C1 * t.step * slope0;
    let curvature = |t: &Trial| t.slope.abs() <= -C2 * slope0;
    let origin = Trial {
        step: 0.0,
        slope: slope0,
        point: Point {
            value: at.value,
            gradient: at.gradient.clone(),
        },
    };
    let mut previous = origin;
    let mut step = first;
    for i in 0..MAX_LINE_SEARCH_STEPS {
        let t = trial(step)?;
        if !t.point.value.is_finite()
            || !armijo(&t)
            || (i > 0 && t.point.value >= previous.point.value)
        {
            return zoom(&mut trial, previous, t, &armijo, &curvature);
        }
        if curvature(&t) {
            return Ok(Some((t.step, t.point)));
        }
        if t.slope >= 0.0 {
            return zoom(&mut trial, t, previous, &armijo, &curvature);
        }
        previous = t;
        step *= 2.0;
    }
    Ok((previous.step > 0.0).then_some((previous.step, previous.point)))
}

/// A trial step's point and the slope along the direction there.
struct Trial {
    step: f64,
    slope: f64,
    point: Point,
}

/// Narrows `[low, high]` (low: the lower objective, meeting the sufficient decrease) to a step
/// meeting the strong Wolfe conditions.
fn zoom(
    trial: &mut impl FnMut(f64) -> Result<Trial>,
    mut low: Trial,
    mut high: Trial,
    armijo: &impl Fn(&Trial) -> bool,
    curvature: &impl Fn(&Trial) -> bool,
) -> Result<Option<(f64, Point)>> {
    for _ in 0..MAX_ZOOM_STEPS {
        let step = interpolate(&low, &high);
        let t = trial(step)?;
        if !t.point.value.is_finite() || !armijo(&t) || t.point.value >= low.point.value {
            high = t;
        } else {
            if curvature(&t) {
                return Ok(Some((t.step, t.point)));
            }
            if t.slope * (high.step - low.step) >= 0.0 {
                high = low;
            }
            low = t;
        }
    }
    Ok((low.step > 0.0).then_some((low.step, low.point)))
}

/// The minimizer of the cubic through both ends' values and slopes, kept inside the middle
/// 80% of the interval; the midpoint when the cubic has none there.
fn interpolate(a: &Trial, b: &Trial) -> f64 {
    let (lo, hi) = (a.step.min(b.step), a.step.max(b.step));
    let width = hi - lo;
    let middle = lo + width / 2.0;
    if !b.point.value.is_finite() {
        return middle;
    }
    let d1 = a.slope + b.slope - 3.0 * (a.point.value - b.point.value) / (a.step - b.step);
    let discriminant = d1 * d1 - a.slope * b.slope;
    if discriminant < 0.0 {
        return middle;
    }
    let d2 = (b.step - a.step).signum() * discriminant.sqrt();
    let step = b.step - (b.step - a.step) * (b.slope + d2 - d1) / (b.slope - a.slope + 2.0 * d2);
    if step.is_finite() {
        step.clamp(lo + 0.1 * width, hi - 0.1 * width)
    } else {
        middle
    }
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub(crate) fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's function, whose minimum at (1, 1) lies along a curved valley.
    fn rosenbrock(x: &[f64]) -> Result<(f64, Vec<f64>)> {
        let (a, b) = (x[0], x[1]);
        let value = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
        let gradient = vec![
            -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
            200.0 * (b - a * a),
        ];
        Ok((value, gradient))
    }

    #[test]
    fn it_finds_rosenbrocks_minimum() {
        let lbfgs = Lbfgs {
            max_iter: 200,
            tol: 1e-12,
            memory: 10,
        };
        let min = lbfgs.minimize(rosenbrock, vec![-1.2, 1.0], &[]).unwrap();
        assert!(
            (min.x[0] - 1.0).abs() < 1e-5 && (min.x[1] - 1.0).abs() < 1e-5,
            "{min:?}"
        );
        // Every step went down.
        assert!(
            min.objective_history.windows(2).all(|w| w[1] <= w[0]),
            "{min:?}"
        );
    }

    #[test]
    fn an_l1_penalty_gives_the_soft_thresholded_minimum() {
        // ½(x₀ - 3)² + ½(x₁ - 0.5)² + ½(x₂ + 2)² + |x₀| + |x₁| + |x₂|: each coordinate is its
        // target moved 1 towards 0, and 0 where the target is within 1 of it.
        let targets = [3.0, 0.5, -2.0];
        let f = |x: &[f64]| {
            let value = x
                .iter()
                .zip(&targets)
                .map(|(v, t)| 0.5 * (v - t) * (v - t))
                .sum();
            let gradient = x.iter().zip(&targets).map(|(v, t)| v - t).collect();
            Ok((value, gradient))
        };
        let lbfgs = Lbfgs {
            max_iter: 100,
            tol: 1e-12,
            memory: 10,
        };
        let min = lbfgs.minimize(f, vec![0.0; 3], &[1.0, 1.0, 1.0]).unwrap();
        assert!((min.x[0] - 2.0).abs() < 1e-6, "{min:?}");
        assert_eq!(min.x[1], 0.0, "{min:?}");
        assert!((min.x[2] + 1.0).abs() < 1e-6, "{min:?}");
        // The history is of the penalized objective: 6.625 at the start, 4.125 at the end.
        assert_eq!(min.objective_history[0], 6.625);
        assert!((min.objective_history.last().unwrap() - 4.125).abs() < 1e-9);
        // Unpenalized coordinates move freely.
        let min = lbfgs.minimize(f, vec![0.0; 3], &[1.0, 0.0, 1.0]).unwrap();
        assert!((min.x[1] - 0.5).abs() < 1e-6, "{min:?}");
    }

    #[test]
    fn it_stops_at_max_iter_and_on_a_flat_objective() {
        let lbfgs = Lbfgs {
            max_iter: 3,
            tol: 1e-12,
            memory: 10,
        };
        let min = lbfgs.minimize(rosenbrock, vec![-1.2, 1.0], &[]).unwrap();
        assert_eq!(min.stop, Stop::MaxIterations);
        assert_eq!(min.objective_history.len(), 4);
        // A quadratic bowl: the gradient vanishes at once after the exact steps.
        let bowl = |x: &[f64]| {
            Ok((
                x[0] * x[0] + 4.0 * x[1] * x[1],
                vec![2.0 * x[0], 8.0 * x[1]],
            ))
        };
        let lbfgs = Lbfgs {
            max_iter: 100,
            tol: 1e-9,
            memory: 10,
        };
        let min = lbfgs.minimize(bowl, vec![3.0, -2.0], &[]).unwrap();
        assert!(min.x.iter().all(|v| v.abs() < 1e-4), "{min:?}");
        assert_ne!(min.stop, Stop::MaxIterations);
    }
}
