// FraudWorkbench's only script of its own: loaded as a file (the CSP allows no inline scripts and no eval).
// - Chart downloads: one delegated click handler for every [data-chart-png] button the server renders next to a chart.
// - Theme: the remembered light/dark choice, falling back to the browser's prefers-color-scheme.
(() => {
    'use strict';
    const themeKey = 'fw-theme';

    const theme = {
        /** The stored choice, else the browser's preference: 'dark' or 'light'. */
        get() {
            let stored = null;
            try { stored = localStorage.getItem(themeKey); } catch { /* storage may be blocked: follow the browser */ }
            if (stored === 'dark' || stored === 'light') return stored;
            return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
        },
        /** Remembers the choice across reloads and marks the document for CSS outside MudBlazor. */
        set(value) {
            const choice = value === 'dark' ? 'dark' : 'light';
            try { localStorage.setItem(themeKey, choice); } catch { /* not remembered, still applied */ }
            document.documentElement.dataset.theme = choice;
            return choice;
        },
    };

    window.fraudWorkbench = Object.freeze({ theme: Object.freeze(theme) });
    document.documentElement.dataset.theme = theme.get();

    function svgDataUri(figure, svg) {
        // The server already put the SVG in the download link; serialise it only when that link is missing.
        const link = figure.querySelector('a[data-chart-svg]');
        if (link && link.href.startsWith('data:image/svg+xml')) return link.href;
        const xml = new XMLSerializer().serializeToString(svg);
        return 'data:image/svg+xml;base64,' + btoa(String.fromCharCode(...new TextEncoder().encode(xml)));
    }

    function downloadPng(button) {
        const figure = button.closest('figure');
        const svg = figure && figure.querySelector('svg');
        if (!svg) return;
        const view = svg.viewBox && svg.viewBox.baseVal;
        const width = view && view.width > 0 ? view.width : svg.width.baseVal.value;
        const height = view && view.height > 0 ? view.height : svg.height.baseVal.value;
        const image = new Image();
        image.onload = () => {
            // Twice the drawing's own size: sharp on high-density screens and in slides.
            const canvas = document.createElement('canvas');
            canvas.width = width * 2;
            canvas.height = height * 2;
            const context = canvas.getContext('2d');
            context.scale(2, 2);
            context.fillStyle = '#ffffff';
            context.fillRect(0, 0, width, height);
            context.drawImage(image, 0, 0, width, height);
            const anchor = document.createElement('a');
            anchor.href = canvas.toDataURL('image/png');
            anchor.download = button.dataset.chartPng || 'chart.png';
            document.body.appendChild(anchor);
            anchor.click();
            anchor.remove();
        };
        image.onerror = () => console.error('FraudWorkbench: the chart could not be drawn as PNG');
        image.src = svgDataUri(figure, svg);
    }

    document.addEventListener('click', event => {
        const button = event.target instanceof Element ? event.target.closest('[data-chart-png]') : null;
        if (!button) return;
        event.preventDefault();
        downloadPng(button);
    });
})();
