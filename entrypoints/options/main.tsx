import { render } from 'preact';
import { OptionsApp } from '../../ui/options/options-app';
import 'uplot/dist/uPlot.min.css';
import '../../ui/popup/popup.css';
import '../../ui/options/options.css';

const root = document.getElementById('app');
if (root) render(<OptionsApp />, root);
