# The reference side of `bench fairness`: the point metrics of every group (sex, age band, and sex x age band) with
# pandas groupby, from the bench's export of the same rows.
# Usage: python3 fairness_pandas.py EXPORT.bin RESULT.tsv THRESHOLD BAND_EDGES_JSON BAND_LABELS_JSON
# Groups as the app forms them: a missing value is its own group "(missing)", age in bands [edge_i, edge_i+1) named as
# the app names them, crossed groups "F × 25–34"; each grouping also has its "overall" row. Prints the library versions,
# the load time, and last the seconds the metrics took (the load and the writing of the result not included).
import json
import sys
import time

import numpy as np
import pandas as pd

export, result, threshold = sys.argv[1], sys.argv[2], float(sys.argv[3])
edges, band_labels = json.loads(sys.argv[4]), json.loads(sys.argv[5])
MISSING, SEPARATOR = '(missing)', ' × '
dtype = np.dtype([('sex', 'i1'), ('label', 'i1'), ('age', '<f8'), ('score', '<f8')])

start = time.perf_counter()
rows = np.fromfile(export, dtype=dtype)
frame = pd.DataFrame({
    'sex': pd.Categorical.from_codes(rows['sex'], categories=['F', 'M']),  # code -1: missing (NaN)
    'age': np.ascontiguousarray(rows['age']),
    'fraud': rows['label'] == 1,
    'score': np.ascontiguousarray(rows['score']),
})
del rows
load = time.perf_counter() - start

start = time.perf_counter()
frame['flagged'] = frame['score'] >= threshold
frame['tp'] = frame['flagged'] & frame['fraud']
frame['fp'] = frame['flagged'] & ~frame['fraud']
frame['sex'] = frame['sex'].cat.add_categories([MISSING]).fillna(MISSING)
frame['age_band'] = pd.cut(frame['age'], bins=[-np.inf] + edges + [np.inf], right=False, labels=band_labels) \
    .cat.add_categories([MISSING]).fillna(MISSING)
aggregations = dict(count=('fraud', 'size'), fraud=('fraud', 'sum'), flagged=('flagged', 'sum'), tp=('tp', 'sum'),
                    fp=('fp', 'sum'), mean_score=('score', 'mean'))


def rates(table):
    n, positives, flagged = table['count'], table['fraud'], table['flagged']
    negatives = n - positives
    with np.errstate(divide='ignore', invalid='ignore'):
        return pd.DataFrame({
            'count': n,
            'selection_rate': flagged / n,
            'true_positive_rate': table['tp'] / positives.where(positives > 0),
            'false_positive_rate': table['fp'] / negatives.where(negatives > 0),
            'false_negative_rate': (positives - table['tp']) / positives.where(positives > 0),
            'precision': table['tp'] / flagged.where(flagged > 0),
            'fraud_rate': positives / n,
            'mean_score': table['mean_score'],
        })


overall = rates(pd.DataFrame({'count': [len(frame)], 'fraud': [frame['fraud'].sum()], 'flagged': [frame['flagged'].sum()],
                              'tp': [frame['tp'].sum()], 'fp': [frame['fp'].sum()], 'mean_score': [frame['score'].mean()]}))
results = []
for name, keys in (('sex', ['sex']), ('age', ['age_band']), ('sex' + SEPARATOR + 'age', ['sex', 'age_band'])):
    table = rates(frame.groupby(keys, observed=True, sort=True).agg(**aggregations))
    results.append((name, overall, table))
seconds = time.perf_counter() - start

columns = ['count', 'selection_rate', 'true_positive_rate', 'false_positive_rate', 'false_negative_rate', 'precision',
           'fraud_rate', 'mean_score']
with open(result, 'w', encoding='utf-8') as f:
    f.write('\t'.join(['grouping', 'group'] + columns) + '\n')
    for name, total, table in results:
        for label, row in [('overall', total.iloc[0])] + list(table.iterrows()):
            group = SEPARATOR.join(str(k) for k in label) if isinstance(label, tuple) else str(label)
            f.write('\t'.join([name, group, str(int(row['count']))] + [repr(float(row[c])) for c in columns[1:]]) + '\n')

print(f'pandas {pd.__version__}, numpy {np.__version__}')
print(f'load {load:.6f}')
print(f'{seconds:.6f}')
