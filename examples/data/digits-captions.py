"""Builds examples/data/digits-captions-train.csv and digits-captions-test.csv, image-caption pairs for the
image-to-text example (examples/image-caption.xml), from examples/data/digits.csv: each 8 x 8 image (columns
p0..p63, pixels 0-16) with the English name of its digit as `caption` ("seven"), in an order shuffled with
Python's random.Random(16); the first 1,437 rows (80 %) are the training file, the other 360 the test file.
usage: python3 digits-captions.py examples/data"""
import csv, pathlib, random, sys

NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']

folder = pathlib.Path(sys.argv[1])
with open(folder / 'digits.csv', newline='', encoding='utf-8') as file:
    rows = list(csv.reader(file))
header, rows = rows[0], rows[1:]
label = header.index('label')
pixels = [i for i, name in enumerate(header) if name != 'label']
random.Random(16).shuffle(rows)
cut = len(rows) * 4 // 5
for name, part in (('digits-captions-train.csv', rows[:cut]), ('digits-captions-test.csv', rows[cut:])):
    with open(folder / name, 'w', newline='', encoding='utf-8') as out:
        writer = csv.writer(out, lineterminator='\n')
        writer.writerow([header[i] for i in pixels] + ['caption'])
        for row in part:
            writer.writerow([row[i] for i in pixels] + [NAMES[int(row[label])]])
