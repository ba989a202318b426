"""scikit-learn's side of the machine-learning benchmark (bench/ml.sh): the same fits as
`ml` (bench/src/bin/ml.rs) on the same Parquet, read whole into NumPy with pyarrow.

    sklearn_ml.py logistic-regression --input DIR [--iterations 20]
    sklearn_ml.py linear-regression --input DIR
    sklearn_ml.py kmeans --input DIR [--k 10] [--iterations 20]

Prints `ml (scikit-learn): <algorithm> fit <secs> s; <figure>=<value>` as `ml` does. Its
threads are those of its BLAS and OpenMP, capped by the script at the cores given.
"""
import argparse
import time

import numpy as np
import pyarrow.parquet as pq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("algorithm", choices=["logistic-regression", "linear-regression", "kmeans"])
    parser.add_argument("--input", required=True)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    table = pq.read_table(args.input)
    features = [c for c in table.column_names if c.startswith("f")]
    x = np.column_stack([table.column(c).to_numpy() for c in features])
    y = table.column("label").to_numpy()
    del table
    started = time.monotonic()
    if args.algorithm == "logistic-regression":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(penalty=None, max_iter=args.iterations, tol=1e-12).fit(x, y)
        secs = time.monotonic() - started
        figure = f"accuracy={(model.predict(x) == y).mean():.6f}"
    elif args.algorithm == "linear-regression":
        from sklearn.linear_model import LinearRegression

        model = LinearRegression().fit(x, y)
        secs = time.monotonic() - started
        figure = f"rmse={np.sqrt(np.mean((model.predict(x) - y) ** 2)):.6f}"
    else:
        from sklearn.cluster import KMeans

        model = KMeans(n_clusters=args.k, n_init=1, max_iter=args.iterations, random_state=1,
                       algorithm="lloyd").fit(x)
        secs = time.monotonic() - started
        figure = f"cost={model.inertia_:.6e}"
    print(f"ml (scikit-learn): {args.algorithm} fit {secs:.3f} s; {figure}", flush=True)


if __name__ == "__main__":
    main()
