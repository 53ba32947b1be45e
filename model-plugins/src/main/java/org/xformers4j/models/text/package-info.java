/**
 * Tokenizers that turn text into the token ids a language model reads and back: the
 * {@link org.xformers4j.models.text.Tokenizer} interface, the byte-level
 * {@link org.xformers4j.models.text.ByteTokenizer} (UTF-8 bytes, no unknown tokens) and the
 * byte-level byte-pair-encoding {@link org.xformers4j.models.text.BytePairTokenizer} of GPT-2
 * (Sennrich et al., 2016; Radford et al., 2019), trained from text and stored as
 * {@code vocab.json} + {@code merges.txt}. Exported because the language-model trainers, the
 * {@code generate} command and users' own code encode and decode with them.
 */
@Export
@Version("0.2.0")
package org.xformers4j.models.text;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
