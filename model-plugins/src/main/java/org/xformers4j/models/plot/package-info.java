/**
 * Learning curves and attention maps as pictures: {@link org.xformers4j.models.plot.Curves} (the points of one run, from
 * a training run's {@link org.xformers4j.train.MetricsLog} records or read back from its JSON-lines
 * file by {@link org.xformers4j.models.plot.MetricsFile}, which treats the file as untrusted input)
 * and {@link org.xformers4j.models.plot.CurveChart}, which draws the curves of one or more runs into
 * a PNG with JFreeChart, off-screen (headless AWT); and attention weights as heat maps,
 * {@link org.xformers4j.models.plot.AttentionHeatMap} (plain Java2D). Used by the {@code plot} and
 * {@code attention-map} commands and the {@code --plot} option of the training commands; not exported (JFreeChart is embedded in this
 * bundle, and no other bundle needs these classes).
 */
package org.xformers4j.models.plot;
