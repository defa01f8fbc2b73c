# The reference side of `bench performance`: the realized metrics of every daily cohort with scikit-learn, from the
# bench's export of the same rows.  Usage: python3 performance_sklearn.py EXPORT.bin RESULT.csv
# Unlabelled rows count as legitimate, as the app counts them (final once the label window has passed, provisional
# before).  Prints the library versions, the load time, and last the seconds the metrics took (the load not included).
import sys
import time

import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score

export, result = sys.argv[1], sys.argv[2]
dtype = np.dtype([('day', '<i2'), ('label', 'i1'), ('decision', 'u1'), ('probability', '<f8'), ('amount', '<f8')])

start = time.perf_counter()
rows = np.fromfile(export, dtype=dtype)
# Contiguous columns, as a data frame would hold them (part of the load).
day = np.ascontiguousarray(rows['day'])
label = np.ascontiguousarray(rows['label'])
decision = np.ascontiguousarray(rows['decision'])
probability = np.ascontiguousarray(rows['probability'])
amount = np.ascontiguousarray(rows['amount'])
del rows
load = time.perf_counter() - start

start = time.perf_counter()
days = int(day.max()) + 1 if len(day) else 0
bounds = np.searchsorted(day, np.arange(days + 1))  # the export is in day order
results = []
for d in range(days):
    s, e = bounds[d], bounds[d + 1]
    y = label[s:e] == 1
    flagged = decision[s:e] == 1
    p = probability[s:e]
    tn, fp, fn, tp = confusion_matrix(y, flagged, labels=[False, True]).ravel()
    fraud = tp + fn
    auc = roc_auc_score(y, p) if 0 < fraud < len(y) else float('nan')
    ap = average_precision_score(y, p) if fraud > 0 else float('nan')
    caught = amount[s:e][y & flagged].sum()
    missed = amount[s:e][y & ~flagged].sum()
    results.append((d, e - s, tp, fp, fn, tn, auc, ap, caught, missed))
seconds = time.perf_counter() - start

# Not timed: the same curves on the app's score bins (ScoreBins.Of: 1,000 bins of equal width in log-odds over
# [-10, 10]), to tell the bins' cost (exact scores against bins) from a fault (bins against ours).
with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
    logit = np.log(probability / (1 - probability))
    bins = np.clip(np.floor((logit + 10) / 0.02), 0, 999)
bins[~(probability > 0)] = 0
bins[probability >= 1] = 999
for i, (d, n, tp, fp, fn, tn, *_) in enumerate(results):
    s, e = bounds[d], bounds[d + 1]
    y = label[s:e] == 1
    b = bins[s:e]
    fraud = tp + fn
    results[i] += (roc_auc_score(y, b) if 0 < fraud < n else float('nan'), average_precision_score(y, b) if fraud > 0 else float('nan'))

with open(result, 'w') as f:
    f.write('day,rows,tp,fp,fn,tn,roc_auc,average_precision,fraud_caught,fraud_missed,roc_auc_bins,average_precision_bins\n')
    for r in results:
        f.write(','.join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(int(v)) for v in r) + '\n')

print(f'sklearn {sklearn.__version__}, numpy {np.__version__}')
print(f'load {load:.6f}')
print(f'{seconds:.6f}')
