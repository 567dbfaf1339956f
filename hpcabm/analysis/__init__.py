"""Post-processing: stylised facts (fits) and report figures. Reads results files only."""
