/**
 * Neural-network layers with named parameters: linear, embedding, normalisation, dropout,
 * feed-forward, multi-head attention, and the store of parameters shared across the layers of a
 * stack ({@link org.xformers4j.nn.SharedParameters}).
 */
@Export
@Version("0.6.0")
package org.xformers4j.nn;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
