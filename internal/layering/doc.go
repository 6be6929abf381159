// Package layering holds no code. Its test checks the import rules of
// docs/ARCHITECTURE.md ("Packages and the rules between them") over the
// whole module, so a package that reaches up a layer fails CI instead of a
// review.
package layering
