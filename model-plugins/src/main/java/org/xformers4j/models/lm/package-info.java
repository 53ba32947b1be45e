/**
 * Text models: the decoder-only (GPT-style) {@link org.xformers4j.models.lm.LanguageModel} and the
 * encoder-decoder {@link org.xformers4j.models.lm.Seq2SeqModel} (whose source, a
 * {@link org.xformers4j.models.lm.SourceEncoder}, is text or, for image captioning, an image's
 * Vision Transformer patches), their trainers, the decoding
 * session that lets every registered decoding strategy drive them with a KV cache, and the model
 * directory they are saved in. Exported so that OLCUT, inside the OSGi host, can create the
 * trainers an XML configuration names.
 */
@Export
@Version("0.3.0")
package org.xformers4j.models.lm;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
