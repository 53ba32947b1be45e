/**
 * Composable {@link org.xformers4j.component.decoding.LogitsProcessor logits processors} and
 * {@link org.xformers4j.component.decoding.StoppingCriterion stopping criteria}, usable with every
 * decoding strategy through {@link org.xformers4j.component.decoding.GenerationConfig}: the
 * counterparts of Hugging Face's {@code LogitsProcessor} and {@code StoppingCriteria} classes
 * (https://huggingface.co/docs/transformers/internal/generation_utils). Processors run in the order
 * given, each on the logits the previous one left; a row stops when any criterion says so. Banned
 * tokens get the logit -infinity. Exported so that applications can build generation settings.
 */
@Export
@Version("0.1.0")
package org.xformers4j.decoding.processing;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
