/**
 * The conformance suite: checks, written once, that every registered component honours its kind's
 * contract and its declared capabilities; what {@code xformers4j check} runs and what each plugin
 * module's tests apply to its own components. See {@link org.xformers4j.component.conformance.AttentionConformance},
 * {@link org.xformers4j.component.conformance.PositionalConformance} and
 * {@link org.xformers4j.component.conformance.DecodingConformance}.
 */
@Export
@Version("0.2.0")
package org.xformers4j.component.conformance;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
